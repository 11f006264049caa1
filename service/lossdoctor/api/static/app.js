// LossDoctor's page: sends a pasted log or an uploaded file to this service's own API and shows the answer.
// Every piece of text that comes from the user or the API reaches the DOM as a text node (never as HTML).
"use strict";

(() => {
  const ID = /^[0-9a-f]{32}$/;
  const PERMALINK = /^#\/diagnoses\/([0-9a-f]{32})$/;
  const $ = (id) => document.getElementById(id);

  const STATUS_LABEL = { healthy: "Healthy", unhealthy: "Unhealthy", insufficient_data: "Not enough data" };
  const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };

  // ------------------------------------------------------------------------------------------ DOM helpers

  /** An element with attributes and children; strings become text nodes, null/undefined/false are skipped. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name === "className" ? "class" : name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** Text where `backticked` spans become <code> elements (as the API's texts write code). */
  function rich(text) {
    const fragment = document.createDocumentFragment();
    String(text ?? "").split(/(`[^`]+`)/).forEach((part, i) => {
      if (!part) return;
      fragment.append(i % 2 === 1 ? el("code", null, part.slice(1, -1)) : part);
    });
    return fragment;
  }

  const words = (code) => String(code ?? "").replace(/_/g, " ");
  const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);

  function number(value) {
    if (typeof value !== "number") return String(value);
    if (Number.isInteger(value)) return String(value);
    return String(Number(value.toPrecision(4)));
  }

  function evidenceValue(value) {
    if (value === true) return "yes";
    if (value === false) return "no";
    return number(value);
  }

  function onsetOf(finding) {
    const onset = finding.onset;
    if (!onset || typeof onset !== "object") return null;
    const axis = "epoch" in onset ? "epoch" : "step" in onset ? "step" : null;
    return axis === null ? null : { axis, value: onset[axis] };
  }

  function onsetText(finding) {
    const onset = onsetOf(finding);
    return onset === null ? null : `from ${onset.axis} ${number(onset.value)}`;
  }

  // ------------------------------------------------------------------------------------------ page state

  let sequence = 0; // answers to older requests are dropped when a newer one was sent

  function setBusy(message) {
    $("busy").textContent = message || "";
    $("diagnose").disabled = Boolean(message);
    $("upload").disabled = Boolean(message);
    document.body.setAttribute("aria-busy", message ? "true" : "false");
  }

  function showProblem(title, detail) {
    $("result").hidden = true;
    $("problem-title").textContent = title;
    $("problem-detail").textContent = detail;
    $("problem").hidden = false;
  }

  function clearProblem() {
    $("problem").hidden = true;
    $("problem-title").textContent = "";
    $("problem-detail").textContent = "";
  }

  async function request(url, init, busyMessage) {
    const mine = ++sequence;
    clearProblem();
    setBusy(busyMessage);
    let response;
    let body = null;
    try {
      response = await fetch(url, { ...init, headers: { Accept: "application/json", ...(init.headers || {}) } });
      if ((response.headers.get("Content-Type") || "").includes("json")) {
        body = await response.json().catch(() => null);
      }
    } catch (error) {
      if (mine === sequence) {
        setBusy(null);
        showProblem("The service could not be reached", String(error && error.message ? error.message : error));
      }
      return;
    }
    if (mine !== sequence) return;
    setBusy(null);
    if (!response.ok) {
      const title = body && typeof body.title === "string" ? body.title : `Error ${response.status}`;
      const detail = body && typeof body.detail === "string" ? body.detail
        : `The service answered ${response.status} ${response.statusText} without a detail.`;
      showProblem(title, detail);
      return;
    }
    if (!body || typeof body.id !== "string" || !ID.test(body.id)) {
      showProblem("Unexpected answer", "The service answered without a diagnosis; try again.");
      return;
    }
    render(body);
  }

  // ------------------------------------------------------------------------------------------ rendering

  function renderVerdict(doc) {
    const findings = Array.isArray(doc.findings) ? doc.findings : [];
    const codeFindings = Array.isArray(doc.code_findings) ? doc.code_findings : [];
    const top = findings[0] || null;
    const verdict = $("verdict");
    verdict.dataset.status = doc.status;
    verdict.dataset.severity = top ? top.severity : doc.status === "healthy" ? "ok" : "none";
    $("verdict-status").textContent = STATUS_LABEL[doc.status] || words(doc.status);

    const headline = $("verdict-headline");
    const summary = $("verdict-summary");
    summary.replaceChildren();
    if (top) {
      const onset = onsetText(top);
      const when = onset ? ` ${onset}` : top.basis === "description" ? ", from your description" : "";
      headline.textContent = `${words(top.code)}${when}`;
      summary.append(rich(top.summary));
      if (top.basis === "description") {
        summary.append(" ", el("em", null, "(No numbers confirm it yet.)"));
      }
      if (findings.length > 1) {
        const more = findings.length - 1;
        summary.append(" ", el("span", { className: "more" }, `And ${more} more finding${more > 1 ? "s" : ""} below.`));
      }
    } else if (doc.status === "insufficient_data") {
      headline.textContent = "nothing to judge yet";
      summary.textContent = "No loss curve with at least 3 points was found in what you sent, so the curves cannot "
        + "be judged. Paste the per-epoch (or per-step) log lines, or upload the log file.";
    } else {
      headline.textContent = "no problem found";
      summary.textContent = "The curves show none of the problems in the catalog.";
    }
    if (codeFindings.length > 0) {
      const n = codeFindings.length;
      summary.append(" ", el("span", { className: "more" },
        `The pasted code has ${n} likely mistake${n > 1 ? "s" : ""} (see "In the pasted code").`));
    }

    const id = doc.id;
    $("report-link").href = `/v1/diagnoses/${id}/report.md`;
    $("json-link").href = `/v1/diagnoses/${id}`;
    $("plot-link").href = `/v1/diagnoses/${id}/plot.svg`;
    $("plot-open").href = `/v1/diagnoses/${id}/plot.svg`;
    $("permalink").href = `#/diagnoses/${id}`;
    $("verdict-source").textContent = sourceText(doc);
  }

  function sourceText(doc) {
    const source = doc.source || {};
    const series = doc.input && doc.input.series ? Object.keys(doc.input.series) : Object.keys(doc.series || {});
    const curves = series.length ? `${series.length} curve${series.length > 1 ? "s" : ""} (${series.join(", ")})`
      : "no curves";
    if (source.kind === "file") {
      const name = source.filename ? `"${source.filename}"` : "the upload";
      return `Read ${name} as ${source.format}: ${curves}.`;
    }
    if (source.kind === "text") return `Read ${source.characters} characters of pasted text: ${curves}.`;
    return `Diagnosis ${doc.id}: ${curves}.`;
  }

  function renderPlot(doc) {
    const figure = $("plot-figure");
    const img = $("plot");
    const caption = $("plot-caption");
    delete figure.dataset.loaded;
    img.removeAttribute("src");
    if (Object.keys(doc.series || {}).length === 0) {
      img.hidden = true;
      $("plot-open").hidden = true;
      $("plot-link").hidden = true;
      caption.textContent = "No curves to plot: no numbers were found in what you sent.";
      return;
    }
    img.hidden = false;
    $("plot-open").hidden = false;
    $("plot-link").hidden = false;
    img.alt = "The run's curves, their change points and where each finding starts";
    caption.textContent = "The curves, their change points and where each finding starts (click to enlarge).";
    img.src = `/v1/diagnoses/${doc.id}/plot.svg`;
  }

  function evidenceTable(evidence) {
    const rows = Object.entries(evidence || {})
      .filter(([key, value]) => value !== null && value !== undefined && key !== "log_next" && key !== "confirm_with")
      .map(([key, value]) => el("tr", { "data-key": key },
        el("th", { scope: "row" }, words(key)),
        el("td", null, evidenceValue(value))));
    if (rows.length === 0) return null;
    return el("table", { className: "evidence" }, el("caption", null, "Evidence"), el("tbody", null, rows));
  }

  function renderFinding(finding) {
    const onset = onsetOf(finding);
    const evidence = finding.evidence || {};
    const description = finding.basis === "description";
    const confidence = typeof finding.confidence === "number" ? `confidence ${Math.round(finding.confidence * 100)}%`
      : null;
    const metrics = Array.isArray(finding.metrics) && finding.metrics.length
      ? `${description ? "Concerns" : "Read from"} ${finding.metrics.join(", ")}.` : null;
    const fixes = Array.isArray(finding.fixes) ? finding.fixes : [];
    return el("article", {
      className: "finding", "data-code": finding.code, "data-severity": finding.severity,
      "data-basis": finding.basis,
    },
    el("header", null,
      el("h3", null, words(finding.code)),
      el("span", { className: `badge severity-${finding.severity}` }, finding.severity),
      onset ? el("span", { className: "onset", [`data-onset-${onset.axis}`]: onset.value }, onsetText(finding))
        : el("span", { className: "onset", "data-onset": "none" }, description ? "onset unknown" : "no single start"),
      confidence ? el("span", { className: "confidence" }, confidence) : null),
    description ? el("p", { className: "basis-note" },
      el("strong", null, "From your description, not from numbers."),
      evidence.confirm_with ? [" To confirm it, log ", rich(evidence.confirm_with), "."] : null) : null,
    el("p", { className: "summary" }, rich(finding.summary)),
    el("p", { className: "explanation" }, rich(finding.explanation)),
    evidenceTable(evidence),
    evidence.log_next ? el("p", { className: "log-next" }, el("strong", null, "Log next: "), rich(evidence.log_next))
      : null,
    metrics ? el("p", { className: "meta" }, metrics) : null,
    fixes.length ? el("h4", null, "What to change") : null,
    fixes.length ? el("ol", { className: "fixes" }, fixes.map((fix) => el("li", { "data-action": fix.action },
      el("strong", null, `${capitalised(words(fix.action))}. `), rich(fix.detail)))) : null);
  }

  function renderFindings(doc) {
    const box = $("findings");
    const findings = Array.isArray(doc.findings) ? doc.findings : [];
    box.replaceChildren(...findings.map(renderFinding));
    if (findings.length === 0) {
      box.append(el("p", { className: "empty" }, doc.status === "insufficient_data"
        ? "None: there is not enough data to judge the curves."
        : "None: the curves look healthy."));
    }
  }

  function renderCodeFinding(item) {
    const explained = Array.isArray(item.explains_findings) ? item.explains_findings : [];
    const could = (Array.isArray(item.explains) ? item.explains : []).filter((code) => !explained.includes(code));
    return el("article", { className: "code-finding", "data-rule": item.rule, "data-severity": item.severity },
      el("header", null,
        el("h3", null, words(item.rule)),
        el("span", { className: `badge severity-${item.severity}` }, item.severity),
        typeof item.line === "number" ? el("span", { className: "onset" }, `line ${item.line}`) : null),
      el("pre", null, el("code", null, item.snippet)),
      el("p", null, el("strong", null, "Why: "), rich(item.why)),
      el("p", null, el("strong", null, "Fix: "), rich(item.fix)),
      explained.length ? el("p", { className: "meta explains" },
        `Explains the ${explained.map(words).join(", ")} finding${explained.length > 1 ? "s" : ""} above.`) : null,
      could.length ? el("p", { className: "meta" }, `Could also cause: ${could.map(words).join(", ")}.`) : null);
  }

  function renderCode(doc) {
    const items = Array.isArray(doc.code_findings) ? doc.code_findings : [];
    $("code-findings").replaceChildren(...items.map(renderCodeFinding));
    $("code-section").hidden = items.length === 0;
  }

  function renderRead(doc) {
    const parts = [];
    const extracted = doc.extracted || null;
    const input = doc.input || null;
    const series = extracted ? extracted.series : input ? Object.entries(input.series || {}).map(
      ([name, s]) => ({ name, source_name: s.source_name, points: s.points })) : [];
    if (series.length) {
      parts.push(el("h3", null, "Curves"), el("ul", null, series.map((s) => el("li", null,
        el("code", null, s.name),
        s.source_name && s.source_name !== s.name ? [" (written ", el("code", null, s.source_name), ")"] : null,
        `: ${s.points} point${s.points === 1 ? "" : "s"}`))));
    } else if (extracted) {
      parts.push(el("p", null, "No curves: no logged numbers were found in the text."));
    }
    if (extracted && extracted.symptoms && extracted.symptoms.length) {
      parts.push(el("h3", null, "Described symptoms"), el("ul", null, extracted.symptoms.map((s) => el("li", null,
        `"${s.phrase}" `, el("span", { className: "meta" }, `(${words(s.code)})`)))));
    }
    if (extracted && extracted.code_blocks && extracted.code_blocks.length) {
      const n = extracted.code_blocks.length;
      parts.push(el("p", null, `${n} code block${n > 1 ? "s" : ""} checked.`));
    }
    if (input && input.unknown_metrics && input.unknown_metrics.length) {
      parts.push(el("p", null, "Kept but not judged: ", input.unknown_metrics.join(", "), "."));
    }
    if (input && input.notes && input.notes.length) {
      parts.push(el("h3", null, "Notes"), el("ul", null, input.notes.map((note) => el("li", null, String(note)))));
    }
    if (parts.length === 0) parts.push(el("p", null, "Nothing more to show."));
    $("read-body").replaceChildren(...parts);
  }

  function render(doc) {
    clearProblem();
    renderVerdict(doc);
    renderPlot(doc);
    renderFindings(doc);
    renderCode(doc);
    renderRead(doc);
    $("result").hidden = false;
    if (location.hash !== `#/diagnoses/${doc.id}`) history.replaceState(null, "", `#/diagnoses/${doc.id}`);
    $("verdict-heading").focus({ preventScroll: true });
    $("result").scrollIntoView({ block: "start" });
  }

  // ------------------------------------------------------------------------------------------ wiring

  function diagnoseText(event) {
    event.preventDefault();
    request("/v1/diagnoses/text", {
      method: "POST",
      headers: { "Content-Type": "text/plain; charset=utf-8" },
      body: $("log").value,
    }, "Diagnosing the pasted text…");
  }

  function diagnoseFile(event) {
    event.preventDefault();
    const file = $("file").files[0];
    if (!file) {
      showProblem("No file chosen", "Choose a log file to upload first.");
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    request("/v1/diagnoses/file", { method: "POST", body: form }, `Diagnosing ${file.name}…`);
  }

  function openPermalink() {
    const match = PERMALINK.exec(location.hash);
    if (match) request(`/v1/diagnoses/${match[1]}`, { method: "GET" }, "Loading the diagnosis…");
  }

  function start() {
    $("paste-form").addEventListener("submit", diagnoseText);
    $("file-form").addEventListener("submit", diagnoseFile);
    $("log").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("paste-form").requestSubmit();
    });
    const img = $("plot");
    img.addEventListener("load", () => { $("plot-figure").dataset.loaded = "true"; });
    img.addEventListener("error", () => {
      if (!img.getAttribute("src")) return;
      $("plot-figure").dataset.loaded = "false";
      $("plot-caption").textContent = "The plot could not be drawn.";
    });
    $("verdict-heading").tabIndex = -1;
    window.addEventListener("hashchange", openPermalink);
    document.body.dataset.ready = "true";
    openPermalink();
  }

  start();
})();
