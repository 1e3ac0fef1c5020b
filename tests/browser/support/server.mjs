// Starts a real `doorstep serve` on a free port with a throwaway data directory.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export async function startDoorstep({ demo = false, extraArgs = [] } = {}) {
  const bin = requiredEnv("DOORSTEP_BIN");
  const web = requiredEnv("DOORSTEP_WEB");
  const data = mkdtempSync(join(tmpdir(), "doorstep-browser-"));
  const args = ["serve", "--addr", "127.0.0.1:0", "--data", data, "--web", web, ...extraArgs];
  if (demo) args.push("--demo");
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => { stderr += chunk; });
  const lines = createInterface({ input: child.stdout });
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`doorstep serve did not start in 30 s:\n${stderr}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`doorstep serve exited with ${code}:\n${stderr}`)));
    lines.on("line", (line) => {
      const match = line.match(/^Doorstep listening on (http:\/\/\S+)/);
      if (match) { clearTimeout(timer); resolve(match[1]); }
    });
  });
  return {
    baseUrl,
    /// The server's data directory (the SQLite store, blobs and the
    /// notification log sink, `notifications.jsonl`).
    dataDir: data,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

export function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests through \`cargo xtask test\``);
  return value;
}
