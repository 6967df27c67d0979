// Bundles the web UI (ui/src, Preact) into public/ui/, served as Workers
// static assets: the worker's wasm is untouched. Code splitting keeps
// Cytoscape.js in the map page's chunk only. `node ui/build.mjs` (run by
// scripts/build.sh); `--watch` rebuilds on change.
import { build, context } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "public", "ui");
const options = {
  entryPoints: [join(here, "src", "main.jsx")],
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  metafile: true,
  logLevel: "warning",
};

rmSync(outdir, { recursive: true, force: true });
if (process.argv.includes("--watch")) {
  await (await context(options)).watch();
} else {
  const result = await build(options);
  const bytes = Object.entries(result.metafile.outputs).map(([file, o]) => `${file.split("public/")[1]} ${o.bytes} B`);
  console.log(`ui: ${bytes.join(", ")}`);
}
