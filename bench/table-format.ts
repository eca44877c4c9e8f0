// This file implements the text cells of the report from the perspective of someone reading a
// fixed-width table: numbers rounded to what the noise allows, columns padded and aligned.

/** A column: its width and which side it is aligned to. */
export type Column = readonly [width: number, align: 'left' | 'right'];

/** Requests per second: whole above 100, one decimal below. */
export function rps(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** Milliseconds with 3 significant digits and the unit. */
export function ms(value: number): string {
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(0)} ms`;
}

/** A ratio: `12.3×`, `0.55×`. */
export function times(value: number): string {
  return value >= 10 ? `${value.toFixed(1)}×` : `${value.toFixed(2)}×`;
}

/** Microseconds, whole. */
export function us(value: number): string {
  return value.toFixed(0);
}

/** One line of cells padded to `columns`, trailing blanks cut. */
export function line(cells: readonly string[], columns: readonly Column[]): string {
  return cells
    .map((cell, i) => {
      const [width, align] = columns[i] ?? [0, 'left'];
      return align === 'left' ? cell.padEnd(width) : cell.padStart(width);
    })
    .join(' ')
    .trimEnd();
}
