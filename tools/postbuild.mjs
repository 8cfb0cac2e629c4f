// Trunk post_build hook (see Trunk.toml). Runs in Trunk's staging directory.
//
// 1. Replaces Trunk's inline module loader by a file, so the Content-Security-
//    Policy needs no 'unsafe-inline' nor hash, and fetches the wasm with its
//    Subresource Integrity hash (Trunk only puts it on the preload link).
// 2. Writes gzip and brotli copies next to every text and wasm file, which the
//    relay serves as they are.
// 3. Prints the size report: raw, gzip and brotli sizes of wasm, js and css.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, readdirSync, statSync, renameSync } from "node:fs";
import { join, extname } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("postbuild: TRUNK_STAGING_DIR is not set; run me from Trunk.");
  process.exit(1);
}
const sri = (bytes) => "sha384-" + createHash("sha384").update(bytes).digest("base64");

const indexPath = join(dir, "index.html");
let html = readFileSync(indexPath, "utf8");
const inline = html.match(/<script type="module"[^>]*>([\s\S]*?)<\/script>/);
if (!inline || /\ssrc=/.test(inline[0])) {
  console.error("postbuild: Trunk's inline loader was not found in index.html.");
  process.exit(1);
}
const loader = inline[1];
const wasmPath = loader.match(/module_or_path:\s*'([^']+\.wasm)'/)?.[1];
if (!wasmPath) {
  console.error("postbuild: the wasm path was not found in Trunk's loader.");
  process.exit(1);
}
const wasmIntegrity = sri(readFileSync(join(dir, wasmPath.replace(/^\//, ""))));
const rewritten = loader.replace(
  `module_or_path: '${wasmPath}'`,
  `module_or_path: fetch('${wasmPath}', { integrity: '${wasmIntegrity}' })`,
);
if (rewritten === loader) {
  console.error("postbuild: could not rewrite the wasm fetch.");
  process.exit(1);
}
const loaderBytes = Buffer.from(rewritten.trim() + "\n");
const loaderName = `loader-${createHash("sha256").update(loaderBytes).digest("hex").slice(0, 16)}.js`;
writeFileSync(join(dir, loaderName), loaderBytes);
html = html.replace(
  inline[0],
  `<script type="module" src="/${loaderName}" integrity="${sri(loaderBytes)}" crossorigin="anonymous"></script>`,
);
// The worker (docs/app.md, "Two parts"): Trunk names its files after the
// binary; give them hashed names (immutable caching) and tell the page where
// they are with their integrity hashes. `new Worker()` takes no integrity
// attribute: the page fetches the glue with its hash and starts the worker
// from a blob of it, which fetches the wasm with its own (app/src/backend.rs).
const workerGlue = "estafette-worker.js";
const workerWasm = "estafette-worker_bg.wasm";
const glueBytes = readFileSync(join(dir, workerGlue));
const workerWasmBytes = readFileSync(join(dir, workerWasm));
const workerHash = createHash("sha256").update(glueBytes).update(workerWasmBytes).digest("hex").slice(0, 16);
const hashedGlue = `estafette-worker-${workerHash}.js`;
const hashedWasm = `estafette-worker-${workerHash}_bg.wasm`;
renameSync(join(dir, workerGlue), join(dir, hashedGlue));
renameSync(join(dir, workerWasm), join(dir, hashedWasm));
const workerMeta =
  `<meta name="estafette-worker" content="/${hashedGlue}" data-integrity="${sri(glueBytes)}" ` +
  `data-wasm="/${hashedWasm}" data-wasm-integrity="${sri(workerWasmBytes)}" />`;
html = html.replace("</head>", `  ${workerMeta}\n  </head>`);
if (!html.includes(workerMeta)) {
  console.error("postbuild: could not name the worker in index.html.");
  process.exit(1);
}

if (/<script(?![^>]*\ssrc=)[^>]*>/.test(html)) {
  console.error("postbuild: an inline script is left in index.html; the CSP would block it.");
  process.exit(1);
}
writeFileSync(indexPath, html);

const compressible = new Set([".html", ".js", ".wasm", ".css", ".svg", ".webmanifest", ".json"]);
const report = {};
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  const ext = extname(name);
  if (!statSync(path).isFile() || !compressible.has(ext)) continue;
  const bytes = readFileSync(path);
  const gz = gzipSync(bytes, { level: 9 });
  const br = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
  writeFileSync(path + ".gz", gz);
  writeFileSync(path + ".br", br);
  const kind = (name.startsWith("estafette-worker-") ? "worker " : "") + ext.slice(1);
  if (["wasm", "js", "css", "worker wasm", "worker js"].includes(kind)) {
    const entry = (report[kind] ??= { raw: 0, gzip: 0, brotli: 0 });
    entry.raw += bytes.length;
    entry.gzip += gz.length;
    entry.brotli += br.length;
  }
}
const kb = (n) => (n / 1024).toFixed(1).padStart(7) + " KiB";
console.log("Estafette size report (wasm + js + css shipped to the browser)");
console.log("  kind                  raw        gzip      brotli");
const total = { raw: 0, gzip: 0, brotli: 0 };
const line = (label, e) => console.log(`  ${label.padEnd(15)} ${kb(e.raw)} ${kb(e.gzip)} ${kb(e.brotli)}`);
for (const kind of ["wasm", "js", "css", "first screen", "worker wasm", "worker js"]) {
  if (kind === "first screen") {
    line(kind, total);
    continue;
  }
  const e = report[kind] ?? { raw: 0, gzip: 0, brotli: 0 };
  line(kind, e);
  for (const k of Object.keys(total)) total[k] += e[k];
}
line("total", total);
