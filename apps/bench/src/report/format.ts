/** How figures are written in the progress display and the report. */

/** 3 significant digits, at least one decimal under 10: 0.0612, 1.94, 23.1, 412. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(value))));
  return value.toFixed(Math.min(digits, 4));
}

export function rate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function bytes(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

export function percent(value: number): string {
  return `${Math.round(value)}%`;
}

/** A ratio to a baseline: `0.93×`. */
export function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}×`;
}

/** `median (min–max)` when repetitions differ, just the median otherwise. */
export function spread(median: number, min: number, max: number, format: (v: number) => string): string {
  return min === max ? format(median) : `${format(median)} (${format(min)}–${format(max)})`;
}
