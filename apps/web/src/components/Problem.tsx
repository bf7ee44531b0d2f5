/** A failure said in words, announced to screen readers, in place of what could not be shown. */
export function Problem({ message, title }: { message: string; title?: string }) {
  return (
    <div role="alert" className="problem-box">
      {title ? <h2>{title}</h2> : null}
      <p>{message}</p>
    </div>
  );
}
