// gridplan web UI behaviour. Served from the app itself (the Content-Security-Policy allows no
// inline scripts and no other hosts).
(function () {
  "use strict";

  // Availability of each patroller on the weekday of the chosen date.
  function showAvailability() {
    var date = document.getElementById("plan-date");
    if (!date) { return; }
    var update = function () {
      var d = new Date(date.value + "T12:00:00");
      var day = isNaN(d) ? null : (d.getDay() + 6) % 7;  // Monday = 0, as the roster counts
      document.querySelectorAll(".avail").forEach(function (el) {
        var windows = JSON.parse(el.getAttribute("data-windows"));
        el.textContent = day === null ? "" : windows[day];
      });
    };
    date.addEventListener("change", update);
    update();
  }

  // Poll a plan job until it is done, then open the plan.
  function followJob() {
    var box = document.getElementById("job");
    if (!box) { return; }
    var texts = document.getElementById("job-texts");
    var stage = document.getElementById("job-stage");
    var bar = document.getElementById("job-bar");
    var error = document.getElementById("job-error");
    if (box.getAttribute("data-status") === "failed" ||
        box.getAttribute("data-status") === "interrupted") { return; }
    var tick = function () {
      fetch(box.getAttribute("data-status-url"), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (job.status === "done" && job.url) { window.location.assign(job.url); return; }
          if (job.status === "failed" || job.status === "interrupted") {
            error.hidden = false;
            error.textContent = texts.getAttribute("data-failed") + " " + job.error;
            stage.hidden = true;
            document.getElementById("job-progress").hidden = true;
            document.getElementById("job-note").hidden = true;
            if (job.retry_url) {
              document.getElementById("job-retry-link").setAttribute("href", job.retry_url);
              document.getElementById("job-retry").hidden = false;
            }
            return;
          }
          if (job.total) {
            bar.style.width = Math.round(100 * job.done / job.total) + "%";
            stage.textContent = texts.getAttribute("data-running")
              .replace("%(done)s", Math.min(job.done + 1, job.total)).replace("%(total)s", job.total);
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    };
    tick();
  }

  // Pin / Exclude buttons in the map frame post {gridplan: "pin"|"exclude", id} to this page.
  function listenToMap() {
    var frame = document.getElementById("map-frame");
    var pinned = document.getElementById("pinned");
    var exclude = document.getElementById("exclude");
    if (!frame || !pinned || !exclude) { return; }
    var ids = function (input) {
      return input.value.split(/[\s,;，；]+/).filter(function (s) { return s; });
    };
    window.addEventListener("message", function (ev) {
      if (ev.origin !== window.location.origin || ev.source !== frame.contentWindow) { return; }
      var msg = ev.data || {};
      if (!/^[\w\-]+$/.test(String(msg.id || ""))) { return; }
      var add = msg.gridplan === "pin" ? pinned : msg.gridplan === "exclude" ? exclude : null;
      if (!add) { return; }
      var other = add === pinned ? exclude : pinned;
      other.value = ids(other).filter(function (s) { return s !== msg.id; }).join(", ");
      var list = ids(add);
      if (list.indexOf(msg.id) < 0) { list.push(msg.id); }
      add.value = list.join(", ");
      add.classList.add("changed");
      document.getElementById("replan").scrollIntoView({behavior: "smooth"});
    });
  }

  // "Add to alert" in the Alerts page's map frame posts {gridplan: "alert", id}: add the id.
  function listenForAlertCells() {
    var frame = document.getElementById("map-frame");
    var cells = document.getElementById("alert-cells");
    if (!frame || !cells) { return; }
    window.addEventListener("message", function (ev) {
      if (ev.origin !== window.location.origin || ev.source !== frame.contentWindow) { return; }
      var msg = ev.data || {};
      if (msg.gridplan !== "alert" || !/^[\w\-]+$/.test(String(msg.id || ""))) { return; }
      var list = cells.value.split(/[\s,;，；]+/).filter(function (s) { return s; });
      if (list.indexOf(msg.id) < 0) { list.push(msg.id); }
      cells.value = list.join(", ");
      cells.classList.add("changed");
    });
  }

  // Disable a submit button once pressed, so a slow solve is not started twice.
  function oneSubmit() {
    document.querySelectorAll("form").forEach(function (f) {
      f.addEventListener("submit", function () {
        f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
  }

  // Print buttons (route sheets).
  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    showAvailability(); followJob(); listenToMap(); listenForAlertCells(); oneSubmit();
    printButtons();
  });
})();
