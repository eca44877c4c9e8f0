// This file implements multipart/form-data bodies from the perspective of an upload test that
// must send exact bytes (RFC 7578) without a browser or a form library.
import { randomBytes } from 'node:crypto';

/** A plain field or a file field. */
export type FormPart =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly filename: string; readonly contentType: string; readonly data: Buffer };

/** A complete multipart body with the `Content-Type` that names its boundary. */
export interface MultipartBody {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Encodes `parts` as `multipart/form-data` with a random boundary. */
export function buildMultipart(parts: readonly FormPart[]): MultipartBody {
  const boundary = `----cgi-fpm-test-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('data' in part) {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType}\r\n\r\n`,
        ),
        part.data,
        Buffer.from('\r\n'),
      );
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`,
        ),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
