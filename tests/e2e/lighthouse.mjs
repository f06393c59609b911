// Run Lighthouse (mobile preset) on each URL given, in one Chromium, and print one JSON line of category scores per
// URL. Usage: node lighthouse.mjs NODE_MODULES URL... (CHROME_PATH names the browser).
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...urls] = process.argv.slice(2);
const load = (name, file) => import(pathToFileURL(path.join(modules, name, file)).href);
const { default: lighthouse } = await load("lighthouse", "core/index.js");
const chromeLauncher = await load("chrome-launcher", "dist/index.js");

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  for (const url of urls) {
    const result = await lighthouse(url, {
      port: chrome.port, output: "json", logLevel: "error",
      // Audit error pages too (they answer 4xx by design); their SEO still checks the status code.
      ignoreStatusCode: true,
      onlyCategories: ["performance", "accessibility", "best-practices", "seo"],
    });
    const scores = Object.fromEntries(Object.entries(result.lhr.categories).map(([key, value]) => [key, value.score]));
    const failed = Object.values(result.lhr.audits)
      .filter((audit) => audit.score !== null && audit.score < 1 && audit.scoreDisplayMode !== "informative"
              && audit.scoreDisplayMode !== "manual" && audit.scoreDisplayMode !== "notApplicable")
      .map((audit) => audit.id);
    // The SEO score without the status-code audit: an error page answers 4xx by design and fails that one audit.
    const seo = result.lhr.categories.seo.auditRefs.filter((ref) => ref.id !== "http-status-code" && ref.weight > 0
                                                            && result.lhr.audits[ref.id].score !== null);
    const weight = seo.reduce((sum, ref) => sum + ref.weight, 0);
    const seoWithoutStatus = seo.reduce((sum, ref) => sum + ref.weight * result.lhr.audits[ref.id].score, 0) / weight;
    console.log(JSON.stringify({ url, status: result.lhr.runtimeError ? result.lhr.runtimeError.code : null, scores,
                                 seo_without_status: seoWithoutStatus, failed }));
  }
} finally {
  await chrome.kill();
}
