import { useEffect, useState } from 'react'
import { getApi } from './bridge'
import { Editor } from './Editor'

export function App(): React.JSX.Element {
  const [host, setHost] = useState('…')
  const [cursor, setCursor] = useState({ line: 1, column: 1 })

  useEffect(() => {
    let live = true
    void getApi()
      .appInfo()
      .then((result) => {
        if (live) setHost(result.ok ? `${result.value.host} ${result.value.version}` : result.message)
      })
    return () => {
      live = false
    }
  }, [])

  return (
    <div className="app">
      <Editor onCursor={setCursor} />
      <footer className="status-bar" data-testid="status-bar">
        <span>Untitled</span>
        <span className="spacer" />
        <span data-testid="cursor">
          Ln {cursor.line}, Col {cursor.column}
        </span>
        <span>{host}</span>
      </footer>
    </div>
  )
}
