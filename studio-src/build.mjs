// Build ta_rules/studio/static/editor.js: one minified file, the licence of every package
// bundled into it written at its top. Run with `npm ci && npm run build` in studio-src/.
import {build} from "esbuild";
import {readFileSync, writeFileSync, existsSync} from "node:fs";
import {join} from "node:path";

const out = "../ta_rules/studio/static/editor.js";
const result = await build({
  entryPoints: ["entry.js"], bundle: true, format: "iife", globalName: "TAEditor",
  minify: true, target: "es2020", legalComments: "none", metafile: true, write: false,
  outfile: out,
});
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
const notices = [...packages].sort().map(name => {
  const dir = join("node_modules", name);
  const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = ["LICENSE", "LICENSE.md", "LICENSE.txt", "license"].map(f => join(dir, f))
    .find(existsSync);
  const text = file ? readFileSync(file, "utf8").trim() : `License: ${meta.license}`;
  return `${name} ${meta.version} (${meta.license})\n\n${text}`;
});
const banner = "/*! ta-rules studio editor: CodeMirror 6, bundled from studio-src/ " +
  "(npm ci && npm run build).\n * It contains these packages, under these licences:\n\n" +
  notices.join("\n\n-----\n\n").replaceAll("*/", "* /") + "\n*/\n";
writeFileSync(out, banner + result.outputFiles[0].text);
console.log(`${out}: ${packages.size} packages, ${(banner.length + result.outputFiles[0].contents.length) / 1024 | 0} KiB`);
