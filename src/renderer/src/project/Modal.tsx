import { useLayoutEffect, useRef } from 'react'

/**
 * The project window's dialogs: a backdrop that Escape closes, a titled box. Focus goes, before the
 * paint, to the element marked `data-autofocus`, else the first field: a key typed the moment it shows
 * lands there. `alert`: a question that needs an answer (role alertdialog, described by `describedBy`).
 */
export function Modal({
  title,
  testId,
  onCancel,
  alert,
  children,
}: {
  title: React.ReactNode
  testId: string
  onCancel: () => void
  alert?: { readonly describedBy: string }
  children: React.ReactNode
}): React.JSX.Element {
  const box = useRef<HTMLDivElement>(null)
  useLayoutEffect(() => {
    box.current?.querySelector<HTMLElement>('[data-autofocus], input')?.focus()
  }, [])
  const id = `${testId}-title`
  return (
    <div
      className="modal-backdrop"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel()
      }}
    >
      <div
        ref={box}
        className="modal"
        role={alert ? 'alertdialog' : 'dialog'}
        aria-modal="true"
        aria-labelledby={id}
        aria-describedby={alert?.describedBy}
        data-testid={testId}
      >
        <h2 id={id}>{title}</h2>
        {children}
      </div>
    </div>
  )
}
