import { receiverContract } from "../../test/helpers/receiver-contract.js";
import { createApp } from "./server.js";

receiverContract("Fastify", async ({ secret, onEvent }) => {
  const app = createApp({ secret, onEvent });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url, close: () => app.close() };
});
