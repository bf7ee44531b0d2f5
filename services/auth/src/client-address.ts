/**
 * What auth's throttles count an end user's address as. An IPv4 address is itself (also when
 * written IPv4-mapped, `::ffff:192.0.2.1`, as a dual-stack socket reports it). An IPv6 address
 * counts as its /64: one home or host is normally given a whole /64, so counting single IPv6
 * addresses would hand an attacker 2^64 fresh budgets. The contract has checked the text is an
 * address (format 'ip'); anything else has no key (not counted per address).
 */
import { isIPv4, isIPv6 } from 'node:net';

export function addressKey(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const text = address.replace(/%.*$/, '').toLowerCase(); // a zone (fe80::1%eth0) names a link, not a host
  if (isIPv4(text)) return text;
  if (!isIPv6(text)) return undefined;
  const groups = ipv6Groups(text);
  if (groups === undefined) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a trailing dotted IPv4 read as two). */
function ipv6Groups(text: string): number[] | undefined {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted
    ? `${text.slice(0, dotted.index)}${((+dotted[1]! << 8) | +dotted[2]!).toString(16)}:${((+dotted[3]! << 8) | +dotted[4]!).toString(16)}`
    : text;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const halves = hex.split('::');
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<number>(Math.max(0, zeros)).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
