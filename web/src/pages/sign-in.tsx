import { useId, useState, type FormEvent } from "react";
import { ApiError, errorMessage, fetchMe } from "../api/client";
import { LogoIcon } from "../components/icons";

/** The admin entry asks for the admin token once per browser session. */
export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const value = token.trim();
    if (!value) {
      setError("Enter the admin token.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const me = await fetchMe(value);
      if (me.kind !== "admin") {
        setError("This is a portal token for one project. Open its portal link instead, or enter the admin token.");
      } else {
        onSignedIn(value);
        return;
      }
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "That token was not accepted. Check it and try again." : errorMessage(err));
    }
    setBusy(false);
  }

  return (
    <main id="main" className="signin">
      <form className="card signin-card" onSubmit={submit} noValidate>
        <div className="signin-brand">
          <LogoIcon size={36} />
          <h1>Hookline</h1>
        </div>
        <p className="muted">
          Enter the admin token to manage projects and their webhooks. It is printed when Hookline first starts, or set with <code>HOOKLINE_ADMIN_TOKEN</code>.
          It is kept only for this browser tab.
        </p>
        {notice && (
          <p className="notice notice-warning" role="status">
            {notice}
          </p>
        )}
        <div className="field">
          <label htmlFor="admin-token">Admin token</label>
          <input
            id="admin-token"
            type="text"
            className="masked"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            autoFocus
          />
          {error && (
            <p className="field-error" id={errorId} role="alert">
              {error}
            </p>
          )}
        </div>
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {busy && <span className="spinner spinner-inline" aria-hidden="true" />}
          Sign in
        </button>
      </form>
    </main>
  );
}
