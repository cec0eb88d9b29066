import { useState } from "react";
import { prettyBody } from "../lib/format";
import { CheckIcon, CopyIcon } from "./icons";

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/** Pretty-printed JSON with light syntax colouring; any other body as plain text. */
export function BodyView({ body, label }: { body: string | null | undefined; label: string }) {
  const { text, json } = prettyBody(body);
  if (!text) return <p className="muted small">Empty body</p>;
  return (
    <div className="code-wrap">
      <CopyButton text={text} label={`Copy ${label}`} />
      <pre className="code" tabIndex={0}>
        <code>{json ? highlight(text) : text}</code>
      </pre>
    </div>
  );
}

function highlight(text: string) {
  const out: React.ReactNode[] = [];
  let last = 0;
  let i = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    if (m[1] !== undefined) {
      out.push(
        <span key={i++} className={m[2] ? "j-key" : "j-str"}>
          {m[1]}
        </span>,
      );
      if (m[2]) out.push(m[2]);
    } else if (m[3] !== undefined) {
      out.push(
        <span key={i++} className="j-lit">
          {m[3]}
        </span>,
      );
    } else {
      out.push(
        <span key={i++} className="j-num">
          {m[4]}
        </span>,
      );
    }
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-button copy-button"
      aria-label={label}
      title={copied ? "Copied" : label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1500);
        } catch {
          // Clipboard can be unavailable (insecure context); the text stays selectable.
        }
      }}
    >
      {copied ? <CheckIcon /> : <CopyIcon />}
    </button>
  );
}

/** Headers as a name/value list, names lowercased as HTTP/2 would show them. */
export function HeadersView({ headers }: { headers: Record<string, string | string[]> | null | undefined }) {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return <p className="muted small">No headers</p>;
  return (
    <dl className="headers">
      {entries.flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((v, i) => (
          <div className="header-row" key={`${name}-${i}`}>
            <dt className="mono">{name}</dt>
            <dd className="mono">{v}</dd>
          </div>
        )),
      )}
    </dl>
  );
}
