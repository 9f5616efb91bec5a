// The status page: polls /status, and sends the two forms to /predict and /feedback.
// Tweet texts come from strangers: everything goes in with textContent, never as HTML.
"use strict";

const REFRESH_MS = 2000;
const EXAMPLE_CHARS = 280;  // as BADBUZZ_NOTIFY_EXAMPLE_CHARS: a quoted tweet stays short

function byId(id) { return document.getElementById(id); }

function authHeaders() {
  const token = byId("token").value.trim();
  return token ? { Authorization: "Bearer " + token } : {};
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = String(text);
  row.appendChild(td);
}

function fillTable(table, rows) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const values of rows) {
    const row = document.createElement("tr");
    values.forEach((value) => cell(row, value));
    body.appendChild(row);
  }
}

async function send(path, options) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  return { status: response.status, body };
}

function describeProblem(result) {
  const body = result.body || {};
  return result.status + " " + (body.error || "") + ": " + (body.detail || "");
}

function cut(text, limit) {
  const chars = Array.from(String(text));  // by code point: an emoji is not split in two
  return chars.length <= limit ? chars.join("") : chars.slice(0, limit - 1).join("") + "…";
}

function renderAlert(alert) {
  const item = document.createElement("li");
  item.className = "alert";
  const head = document.createElement("strong");
  head.textContent = alert.kind + " · " + alert.scope;
  item.appendChild(head);
  const counts = document.createElement("div");
  counts.textContent = Number(alert.count.toFixed(1)) + " of " + alert.total + " (" + Math.round(alert.share * 100)
    + "%), window " + alert.window_start + " – " + alert.window_end + ", " + alert.threshold;
  item.appendChild(counts);
  if (alert.on_catch_up) {
    const late = document.createElement("div");
    late.className = "catch-up";
    late.textContent = "raised on catch-up, " + Math.round(alert.delay_s / 60)
      + " min after its window ended (a backlog or a replay): not happening now";
    item.appendChild(late);
  }
  const terms = alert.terms || [];
  if (terms.length) {
    const about = document.createElement("div");
    about.className = "terms";
    about.textContent = "about: " + terms.map(
      (t) => t.term + " (" + Math.round(t.count) + ", z " + Number(t.z_score).toFixed(1) + ")"
    ).join(", ");
    item.appendChild(about);
  }
  const examples = document.createElement("ul");
  examples.className = "examples";
  for (const example of alert.examples) {
    const line = document.createElement("li");
    line.textContent = "“" + cut(example.text, EXAMPLE_CHARS) + "” (" + example.tweet_id + ")";
    examples.appendChild(line);
  }
  item.appendChild(examples);
  return item;
}

function render(status) {
  byId("model-version").textContent = status.model.version;
  byId("model-threshold").textContent = status.model.threshold;
  byId("model-prior").textContent = status.model.prior
    ? Object.entries(status.model.prior).map(([k, v]) => k + " " + v.toFixed(3)).join(", ")
    : "not exposed by this model";
  const shadow = status.model.shadow;
  byId("model-shadow").textContent = shadow
    ? shadow.version + ": " + shadow.scored + " scored, agreement "
      + (shadow.agreement === null ? "-" : shadow.agreement.toFixed(3))
      + "; right on " + shadow.challenger_right + " of " + shadow.feedback
      + " labelled tweets (champion " + shadow.champion_right + ")"
    : "none";
  byId("throughput").textContent = status.tweets_per_s + " tweets/s (last "
    + status.throughput_window_s + " s)";
  const lagTotal = status.consumer_lag.reduce((sum, entry) => sum + entry.lag, 0);
  byId("lag-total").textContent = lagTotal + " messages";
  fillTable(byId("lag"), status.consumer_lag.map((e) => [e.topic, e.partition, e.lag]));
  byId("alerts").replaceChildren(...status.open_alerts.map(renderAlert));
  byId("alerts-empty").hidden = status.open_alerts.length > 0;
  fillTable(byId("dead-letters"), status.dead_letters.map(
    (d) => [d.reason, d.source_topic, d.partition, d.offset, d.detail]));
  byId("status-line").textContent = "updated " + new Date(status.generated_at).toLocaleTimeString();
}

async function refresh() {
  try {
    const result = await send("/status", { headers: authHeaders() });
    if (result.status === 200) {
      render(result.body);
    } else {
      byId("status-line").textContent = "status: " + describeProblem(result);
    }
  } catch (error) {
    byId("status-line").textContent = "worker unreachable: " + error;
  }
}

async function predict(event) {
  event.preventDefault();
  byId("predict-error").textContent = "";
  const texts = byId("predict-text").value.split("\n").filter((line) => line.trim());
  const result = await send("/predict", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify({ texts }),
  });
  if (result.status !== 200) {
    fillTable(byId("predict-result"), []);
    byId("predict-error").textContent = describeProblem(result);
    return;
  }
  const share = (p) => (p === null ? "–" : p.toFixed(3));
  fillTable(byId("predict-result"), result.body.predictions.map(
    (p) => [p.text, p.lang, p.label, share(p.p_positive), share(p.p_negative), share(p.p_neutral)]));
}

async function sendFeedback(event) {
  event.preventDefault();
  const report = { tweet_id: byId("feedback-tweet-id").value, verdict: byId("feedback-verdict").value };
  const optional = { predicted_label: "feedback-predicted", text: "feedback-text", brand: "feedback-brand" };
  for (const [field, id] of Object.entries(optional)) {
    if (byId(id).value.trim()) { report[field] = byId(id).value; }
  }
  const result = await send("/feedback", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify(report),
  });
  const line = byId("feedback-result");
  line.className = result.status === 202 ? "ok" : "error";
  line.textContent = result.status === 202
    ? "202 accepted: " + result.body.verdict + " prediction for tweet " + result.body.tweet_id
    : describeProblem(result);
}

document.addEventListener("DOMContentLoaded", () => {
  byId("predict-form").addEventListener("submit", predict);
  byId("feedback-form").addEventListener("submit", sendFeedback);
  refresh();
  setInterval(refresh, REFRESH_MS);
});
