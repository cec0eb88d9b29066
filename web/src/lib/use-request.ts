import { useState } from "react";
import { errorMessage } from "../api/client";

/** One request at a time from a dialog: `busy` while it runs, then the error's message if it failed. */
export function useRequest() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function run(request: () => Promise<unknown>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await request();
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  }

  return { busy, error, run };
}
