/**
 * An avatar made from a username, so every account has one with no upload: a 5×5 pattern,
 * mirrored left to right (faces and emblems read well that way), in a colour of its own.
 * FNV-1a of the name gives 15 bits for the left three columns and the rest for the hue; the
 * same name always draws the same picture. Pure, so the server and the browser agree.
 */
export interface AvatarPattern {
  /** 0–359. */
  hue: number;
  /** 25 cells, row by row: filled or not. */
  cells: boolean[];
}

export function avatarOf(username: string): AvatarPattern {
  let hash = 0x811c9dc5;
  for (const char of username.toLowerCase()) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const cells: boolean[] = [];
  for (let row = 0; row < 5; row++) {
    for (let column = 0; column < 5; column++) {
      const mirrored = column < 3 ? column : 4 - column;
      cells.push(((hash >>> (row * 3 + mirrored)) & 1) === 1);
    }
  }
  return { hue: (hash >>> 15) % 360, cells };
}
