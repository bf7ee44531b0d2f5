/**
 * How long a post is, counted the way the posts service counts it: Unicode code points after
 * trimming, so '🐦' is one character (JavaScript's .length would say two). Shared by the
 * composer's live counter (browser) and the post action's check (server).
 */
export function postLength(text: string): number {
  return [...text.trim()].length;
}
