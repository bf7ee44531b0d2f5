/** Chirp's mark: a small bird, the same as the favicon (app/icon.svg). Decorative: the name beside it is the text. */
export function Logo() {
  return (
    <svg className="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="var(--accent)" />
      <path fill="#fff" d="M7 21c4 0 6-2 7-5 1-4 3-7 7-7 2 0 3 1 4 2l3-1-2 3c0 6-4 11-11 11-3 0-6-1-8-3z" />
      <circle cx="21" cy="12" r="1.2" fill="var(--accent)" />
    </svg>
  );
}
