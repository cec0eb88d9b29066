import type { AddressInfo } from "node:net";
import { receiverContract } from "../../test/helpers/receiver-contract.js";
import { createApp } from "./server.js";

receiverContract("Express", async ({ secret, onEvent }) => {
  const server = createApp({ secret, onEvent }).listen(0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => server.once("listening", resolve).once("error", reject));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
