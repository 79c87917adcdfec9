// Starts a real gamepay server (the example shop: the library, the sandbox and the websocket
// adapter in one process) from the repository's .venv, for the client tests.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import jwt from "jsonwebtoken";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const PYTHON = process.env.GAMEPAY_PYTHON || resolve(ROOT, ".venv", "bin", "python");

/**
 * Run the server until `stop()`; resolves once it printed its URLs.
 * @returns {Promise<{httpUrl: string, wsUrl: string, secret: string, token: Function, session: Function, stop: Function}>}
 */
export async function startServer() {
  const secret = randomBytes(32).toString("hex");
  const child = spawn(PYTHON, ["-m", "examples.shop", "--port", "0"], {
    cwd: ROOT,
    env: { ...process.env, GAMEPAY_WS_TOKEN_SECRET: secret, GAMEPAY_ENV: "dev", PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const line = await new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`server did not start in 60 s:\n${stderr}`)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      const match = out.match(/open (http:\/\/\S+?)\/?\s+\(websocket (ws:\/\/\S+?)\)/);
      if (match) { clearTimeout(timer); ok(match); }
    });
    child.on("exit", (code) => { clearTimeout(timer); fail(new Error(`server exited ${code}:\n${stderr}`)); });
  });
  const httpUrl = line[1];
  const wsUrl = line[2];
  return {
    httpUrl,
    wsUrl,
    secret,
    /** A JWT for `player` minted the way a Node game backend would (jsonwebtoken). */
    token(player, { expiresIn = 300, iat } = {}) {
      const claims = iat === undefined ? { sub: player } : { sub: player, iat };
      // as docs/protocol.md mints one in Node
      return jwt.sign(claims, secret, { algorithm: "HS256", expiresIn, keyid: "2026-12", issuer: "my-game" });
    },
    /** The demo session endpoint: credits the player's starting gold (1000) once. */
    async session(player) {
      const reply = await fetch(`${httpUrl}/demo/session?player=${encodeURIComponent(player)}`);
      return reply.json();
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((ok) => child.on("exit", ok));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
