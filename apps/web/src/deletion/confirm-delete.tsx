import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * A delete button that asks first, in place: "<question> This removes … for
 * good. [Delete] [Cancel]". Opening it puts focus on Cancel (the safe choice),
 * Escape or Cancel closes it and gives focus back to the button that opened it.
 */
export function ConfirmDelete({
  label,
  question,
  consequence,
  pending,
  error,
  onConfirm,
}: {
  /** The button's name, e.g. "Delete video". */
  label: string;
  question: ReactNode;
  /** What goes for good, said plainly. */
  consequence: string;
  pending: boolean;
  /** Why the last attempt failed, in plain words. */
  error: string | null;
  onConfirm: () => void;
}) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  useEffect(() => {
    if (open) cancel.current?.focus();
    else if (wasOpen.current) trigger.current?.focus();
    wasOpen.current = open;
  }, [open]);

  if (!open) {
    return (
      <button ref={trigger} type="button" className="secondary danger" onClick={() => setOpen(true)}>
        {label}
      </button>
    );
  }
  const close = () => {
    if (!pending) setOpen(false);
  };
  return (
    <div
      role="alertdialog"
      aria-labelledby={`${id}-question`}
      aria-describedby={`${id}-consequence`}
      className="confirm"
      onKeyDown={(event) => {
        if (event.key === 'Escape') close();
      }}
    >
      <p>
        <strong id={`${id}-question`}>{question}</strong> <span id={`${id}-consequence`}>{consequence}</span>
      </p>
      <div className="actions">
        {/* aria-disabled, not disabled: a disabled button would drop the focus while the deletion runs. */}
        <button type="button" className="danger" aria-disabled={pending} onClick={() => !pending && onConfirm()}>
          {pending ? 'Deleting…' : 'Delete'}
        </button>
        <button ref={cancel} type="button" className="secondary" aria-disabled={pending} onClick={close}>
          Cancel
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}
