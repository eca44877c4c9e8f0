"""FastCGI records and name-value pairs, as bytes.

This file implements the FastCGI wire format from the perspective of the python worker, an
application reading its supervisor's channel (src/fastcgi/ is the same format on the Node
side): an incremental record parser, the name-value pairs of a PARAMS stream, and the records
an application writes (stream data cut into 8-byte aligned records, stream ends, END_REQUEST,
GET_VALUES_RESULT, UNKNOWN_TYPE). Pure: bytes in, bytes out. Stdlib only.
See the FastCGI specification §3 (records), §3.4 (name-value pairs), §4, §5.
"""

import _struct

FCGI_VERSION_1 = 1
FCGI_HEADER_LEN = 8
# Largest content of one record, and the largest multiple of 8 below it (no padding needed).
FCGI_MAX_CONTENT_LEN = 65535
FCGI_MAX_ALIGNED_CONTENT_LEN = 65528
FCGI_NULL_REQUEST_ID = 0
FCGI_KEEP_CONN = 1

FCGI_BEGIN_REQUEST = 1
FCGI_ABORT_REQUEST = 2
FCGI_END_REQUEST = 3
FCGI_PARAMS = 4
FCGI_STDIN = 5
FCGI_STDOUT = 6
FCGI_STDERR = 7
FCGI_DATA = 8
FCGI_GET_VALUES = 9
FCGI_GET_VALUES_RESULT = 10
FCGI_UNKNOWN_TYPE = 11

FCGI_RESPONDER = 1

FCGI_REQUEST_COMPLETE = 0
FCGI_CANT_MPX_CONN = 1
FCGI_OVERLOADED = 2
FCGI_UNKNOWN_ROLE = 3

HEADER = _struct.Struct(">BBHHBx")
_BEGIN_BODY = _struct.Struct(">HB5x")
_END_BODY = _struct.Struct(">IB3x")
_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from
_PADDING = tuple(b"\0" * n for n in range(8))


class ProtocolError(Exception):
    """Bytes that are not a well-formed FastCGI conversation: the connection is lost."""


class RecordParser:
    """Whole records from bytes split anywhere: `feed(data)` returns (type, request id,
    content) triples; padding is skipped. Linear in the bytes fed (no re-copying)."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        buffer = self._buffer
        if buffer:
            buffer += data
            data = buffer
        records = []
        offset = 0
        size = len(data)
        while size - offset >= FCGI_HEADER_LEN:
            version, kind, request_id, length, padding = _unpack_header(data, offset)
            if version != FCGI_VERSION_1:
                raise ProtocolError("fastcgi: unsupported version %d" % version)
            start = offset + FCGI_HEADER_LEN
            end = start + length + padding
            if end > size:
                break
            records.append((kind, request_id, bytes(data[start : start + length])))
            offset = end
        if data is buffer:
            del buffer[:offset]
        elif offset < size:
            buffer += data[offset:]
        return records

    @property
    def buffered(self):
        """Bytes of an incomplete record held."""
        return len(self._buffer)


def decode_pairs(data):
    """The (name, value) byte pairs of a whole PARAMS (or GET_VALUES) stream, in order.
    Raises ProtocolError on a truncated pair."""
    pairs = []
    append = pairs.append
    index = 0
    size = len(data)
    while index < size:
        # Both lengths one byte each (names and values under 128 bytes): the common case inline.
        name_length = data[index]
        if name_length < 0x80 and index + 1 < size and data[index + 1] < 0x80:
            value_length = data[index + 1]
            index += 2
        else:
            name_length, index = _read_length(data, index, size)
            value_length, index = _read_length(data, index, size)
        end = index + name_length + value_length
        if end > size:
            raise ProtocolError("fastcgi: truncated name-value pair")
        append((data[index : index + name_length], data[index + name_length : end]))
        index = end
    return pairs


def _read_length(data, index, size):
    """One length of a pair (1 byte, or 4 with the high bit set) at `index`: (length, next)."""
    if index >= size:
        raise ProtocolError("fastcgi: truncated name-value pair")
    length = data[index]
    if not length & 0x80:
        return length, index + 1
    if index + 4 > size:
        raise ProtocolError("fastcgi: truncated name-value pair")
    return int.from_bytes(data[index : index + 4], "big") & 0x7FFFFFFF, index + 4


def _length(size):
    return bytes((size,)) if size < 128 else (size | 0x80000000).to_bytes(4, "big")


def encode_pairs(pairs):
    """Name-value pairs (bytes) as a PARAMS or GET_VALUES_RESULT body."""
    return b"".join(_length(len(n)) + _length(len(v)) + n + v for n, v in pairs)


def record(kind, request_id, content=b""):
    """One record as buffers to write in order: header, content, padding (8-byte aligned)."""
    length = len(content)
    padding = -length & 7
    header = _pack_header(FCGI_VERSION_1, kind, request_id, length, padding)
    if not length:
        return [header]
    if padding:
        return [header, content, _PADDING[padding]]
    return [header, content]


def stream(kind, request_id, data):
    """Stream bytes as records of at most 65528 bytes (only the last may need padding); no
    record for empty data (an empty record ends the stream)."""
    if len(data) <= FCGI_MAX_ALIGNED_CONTENT_LEN:
        return record(kind, request_id, data) if data else []
    view = memoryview(data)
    out = []
    for start in range(0, len(view), FCGI_MAX_ALIGNED_CONTENT_LEN):
        out.extend(record(kind, request_id, view[start : start + FCGI_MAX_ALIGNED_CONTENT_LEN]))
    return out


def stream_end(kind, request_id):
    """The empty record that ends a stream."""
    return _pack_header(FCGI_VERSION_1, kind, request_id, 0, 0)


def end_request(request_id, app_status, protocol_status):
    """A whole FCGI_END_REQUEST record (16 bytes)."""
    return _pack_header(FCGI_VERSION_1, FCGI_END_REQUEST, request_id, 8, 0) + _END_BODY.pack(
        app_status & 0xFFFFFFFF, protocol_status
    )


def begin_request_body(content, request_id):
    """(role, flags) of a BEGIN_REQUEST body; ProtocolError when it is short."""
    if len(content) < 8:
        raise ProtocolError("fastcgi: short FCGI_BEGIN_REQUEST body for request %d" % request_id)
    return _BEGIN_BODY.unpack_from(content)


def unknown_type(kind):
    """A whole FCGI_UNKNOWN_TYPE management record naming `kind`."""
    return _pack_header(FCGI_VERSION_1, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID, 8, 0) + bytes(
        (kind,)
    ) + b"\0" * 7


def get_values_result(names, values):
    """A whole FCGI_GET_VALUES_RESULT record answering the names asked (bytes) that `values`
    (text to text) knows, each once."""
    seen = []
    for name in names:
        text = name.decode("latin-1")
        if text in values and name not in seen:
            seen.append(name)
    body = encode_pairs([(n, values[n.decode("latin-1")].encode("latin-1")) for n in seen])
    return b"".join(bytes(part) for part in record(FCGI_GET_VALUES_RESULT, FCGI_NULL_REQUEST_ID, body))
