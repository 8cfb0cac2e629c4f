// Starts the real relay binary serving the release build, on a free loopback port.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, existsSync, rmSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";

const root = resolve(import.meta.dirname, "..", "..");
export const relayBinary = process.env.ESTAFETTE_RELAY_BIN ?? join(root, "target", "relay", "estafette-relay");
export const siteDir = process.env.ESTAFETTE_SITE_DIR ?? join(root, "dist");

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

/** One shipped file: wasm, js or css, and whether it is the worker's. */
export interface SiteFile {
  name: string;
  raw: number;
  gzip: number;
  worker: boolean;
}

/**
 * The wasm + js + css of the built site with their gzip sizes (level 9), and
 * the sums: the first screen's (the page's files) and with the worker's,
 * which load after it (docs/app.md, "Two parts").
 */
export function siteSizes(): { files: SiteFile[]; firstScreen: number; total: number } {
  const files = readdirSync(siteDir)
    .filter((name) => [".wasm", ".js", ".css"].includes(extname(name)))
    .map((name) => {
      const bytes = readFileSync(join(siteDir, name));
      const gzip = gzipSync(bytes, { level: 9 }).length;
      return { name, raw: bytes.length, gzip, worker: name.startsWith("estafette-worker-") };
    });
  const sum = (list: SiteFile[]) => list.reduce((n, f) => n + f.gzip, 0);
  return { files, firstScreen: sum(files.filter((f) => !f.worker)), total: sum(files) };
}

export class RelayProcess {
  private child?: ChildProcess;
  private log = "";
  readonly dataDir = mkdtempSync(join(tmpdir(), "estafette-e2e-"));

  private constructor(readonly port: number) {}

  static async start(): Promise<RelayProcess> {
    for (const [what, path] of [["relay binary", relayBinary], ["built site", join(siteDir, "index.html")]]) {
      if (!existsSync(path)) throw new Error(`The ${what} is missing at ${path}: run 'make build' first.`);
    }
    const relay = new RelayProcess(await freePort());
    await relay.up();
    return relay;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts) the relay on the same port and data directory. */
  async up(): Promise<void> {
    const child = spawn(
      relayBinary,
      ["serve", "--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, "--site-dir", siteDir],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ESTAFETTE_LOG: "info" } },
    );
    this.child = child;
    child.stdout?.on("data", (d) => (this.log += d));
    child.stderr?.on("data", (d) => (this.log += d));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`relay exited (${child.exitCode}):\n${this.log}`);
      try {
        const res = await fetch(`${this.origin}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`relay did not become healthy:\n${this.log}`);
  }

  /** Stops the relay the way an operator would (SIGTERM) and waits for exit. */
  async down(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
    child.kill("SIGTERM");
    const code = await Promise.race([exited, new Promise<"timeout">((ok) => setTimeout(() => ok("timeout"), 10_000))]);
    if (code === "timeout") {
      child.kill("SIGKILL");
      throw new Error(`relay ignored SIGTERM for 10 s:\n${this.log}`);
    }
    return code;
  }

  async dispose(): Promise<void> {
    await this.down().catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  output(): string {
    return this.log;
  }

  /**
   * Invites someone the way an administrator does (`estafette-relay invite`,
   * which works while `serve` runs) and returns the printed join URL.
   */
  async revoke(handle: string): Promise<void> {
    await new Promise<void>((ok, fail) =>
      execFile(relayBinary, ["revoke", "--data-dir", this.dataDir, "--handle", handle], (error, _out, err) =>
        error ? fail(new Error(`revoke failed: ${err}`)) : ok(),
      ),
    );
  }

  async invite(handle: string, name: string): Promise<string> {
    const stdout = await new Promise<string>((ok, fail) =>
      execFile(
        relayBinary,
        ["invite", "--data-dir", this.dataDir, "--handle", handle, "--name", name, "--site-url", this.origin],
        (error, out, err) => (error ? fail(new Error(`invite failed: ${err}`)) : ok(out)),
      ),
    );
    const url = stdout.trim().split("\n").pop() ?? "";
    if (!url.startsWith(`${this.origin}/#/join/`)) throw new Error(`unexpected invite output: ${stdout}`);
    return url;
  }
}
