// The patrol phone page (gridplan.web.views.patrol): arrived/left check-ins with the phone's
// position, kept in the phone's storage until the server has them.
//
// Every check-in gets an id made here (crypto.randomUUID) and goes into a queue in localStorage
// (one per station and user) before anything is sent; the queue is sent in order whenever the
// phone is online: at once, on the "online" event, when the page loads and every 30 s. A check-in
// leaves the queue only when the server answered that it has it (201 stored, or 200: stored
// before under the same id), so a lost answer means one more send, never a lost or doubled
// check-in. The server's refusals (another team's stop, a malformed check-in) are shown with
// their reason and kept until removed. Served from the app (no inline scripts, no CDN).
(function () {
  "use strict";
  var root = document.getElementById("patrol");
  if (!root) { return; }
  var page = JSON.parse(root.getAttribute("data-page"));
  var T = JSON.parse(root.getAttribute("data-labels"));
  var tokenMeta = document.querySelector("meta[name=csrf-token]");
  var csrf = tokenMeta ? tokenMeta.getAttribute("content") : "";
  var KEY = "gridplan-patrol:" + page.station + ":" + page.user;
  var syncing = false;
  var lastPosition = null;

  // ------------------------------------------------------------------ the queue on the phone

  function load() {
    var st = null;
    try { st = JSON.parse(window.localStorage.getItem(KEY)); } catch (e) { st = null; }
    if (!st || !Array.isArray(st.queue)) { st = {queue: [], sent: []}; }
    if (!Array.isArray(st.sent)) { st.sent = []; }
    return st;
  }

  function save(st) {
    window.localStorage.setItem(KEY, JSON.stringify(st));
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function stopKey(c) { return [c.plan_id, c.slice_id, c.route_index, c.stop_index].join("|"); }

  // every check-in the page knows of: the server's, those sent since the page loaded, the queue
  function known() {
    var st = load();
    var seen = {};
    var out = [];
    function add(c, state) {
      if (seen[c.client_id]) { return; }
      seen[c.client_id] = true;
      out.push({c: c, state: state});
    }
    page.check_ins.forEach(function (c) { add(c, "sent"); });
    st.sent.forEach(function (c) { add(c, "sent"); });
    st.queue.forEach(function (c) { add(c, c.refused ? "refused" : "queued"); });
    return out;
  }

  // ------------------------------------------------------------------ what the page shows

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return values[k] !== undefined ? values[k] : m; });
  }

  function hhmm(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return ""; }
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function say(text, kind) {
    var box = document.getElementById("patrol-message");
    if (!box) { return; }
    box.textContent = text;
    box.className = "flash " + (kind || "");
    box.hidden = !text;
  }

  function where(c) {
    if (c.inside === true) { return T.inside; }
    if (c.inside === false && c.distance_m !== null && c.distance_m !== undefined) {
      return fmt(T.outside, {m: Math.round(c.distance_m)});
    }
    if (c.lat === null || c.lon === null) { return T.no_position; }
    return "";
  }

  function stopLine(entry) {
    var c = entry.c;
    var parts = [fmt(c.kind === "arrived" ? T.arrived_at : T.left_at, {time: hhmm(c.client_at)})];
    var w = where(c);
    if (w) { parts.push(w); }
    if (c.note) { parts.push("\u201c" + c.note + "\u201d"); }
    if (entry.state === "queued") { parts.push(T.waiting); }
    return {text: parts.join(" · "), state: entry.state};
  }

  function stopItems() {
    return Array.prototype.slice.call(document.querySelectorAll("li.stop"));
  }

  function stopOf(li) {
    var sec = li.closest("section.route");
    return {
      plan_id: Number(sec.getAttribute("data-plan")),
      slice_id: sec.getAttribute("data-slice"),
      route_index: Number(sec.getAttribute("data-route")),
      stop_index: Number(li.getAttribute("data-stop"))
    };
  }

  function routeOf(stop) {
    for (var i = 0; i < page.routes.length; i += 1) {
      var r = page.routes[i];
      if (r.plan_id === stop.plan_id && r.slice_id === stop.slice_id && r.route_index === stop.route_index) {
        return r;
      }
    }
    return null;
  }

  function render() {
    var byStop = {};
    var entries = known();
    entries.forEach(function (e) { (byStop[stopKey(e.c)] = byStop[stopKey(e.c)] || []).push(e); });
    var next = null;
    var nextAny = null;
    var now = Date.now();
    stopItems().forEach(function (li) {
      var list = byStop[stopKey(stopOf(li))] || [];
      list.sort(function (a, b) { return a.c.client_at < b.c.client_at ? -1 : 1; });
      var box = li.querySelector(".stop-state");
      box.textContent = "";
      list.forEach(function (e) {
        var line = stopLine(e);
        var div = document.createElement("div");
        div.className = "line " + line.state;
        div.textContent = line.text;
        box.appendChild(div);
      });
      var arrived = list.some(function (e) { return e.c.kind === "arrived" && e.state !== "refused"; });
      var left = list.some(function (e) { return e.c.kind === "left" && e.state !== "refused"; });
      li.classList.toggle("is-arrived", arrived && !left);
      li.classList.toggle("is-left", left);
      li.classList.remove("is-next");
      if (!left) {
        var route = routeOf(stopOf(li));
        if (!nextAny) { nextAny = li; }
        if (!next && route && Date.parse(route.end_iso) > now) { next = li; }
      }
    });
    showNext(next || nextAny);
    var st = load();
    var waiting = st.queue.filter(function (c) { return !c.refused; }).length;
    document.getElementById("queue-count").textContent = String(waiting);
    document.getElementById("queue-state").classList.toggle("has-waiting", waiting > 0);
    showRefused(st);
    var net = document.getElementById("net-state");
    net.textContent = navigator.onLine ? T.online : T.offline;
    net.className = "badge " + (navigator.onLine ? "ok" : "warn");
  }

  function showRefused(st) {
    var list = document.getElementById("refused");
    var bad = st.queue.filter(function (c) { return c.refused; });
    list.textContent = "";
    list.hidden = bad.length === 0;
    bad.forEach(function (c) {
      var li = document.createElement("li");
      li.className = "flash error";
      li.textContent = T.refused + " " + c.refused + " (" + fmt(c.kind === "arrived" ? T.arrived_at : T.left_at, {time: hhmm(c.client_at)}) + ") ";
      var b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = T.dismiss;
      b.addEventListener("click", function () {
        var s = load();
        s.queue = s.queue.filter(function (q) { return q.client_id !== c.client_id; });
        save(s);
        render();
      });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ the next stop and its map

  var map = null;
  var mapLayers = null;

  function showNext(li) {
    var card = document.getElementById("next-stop");
    if (!card) { return; }
    var body = document.getElementById("next-body");
    card.hidden = false;
    if (!li) {
      body.textContent = T.all_done;
      document.getElementById("next-map").hidden = true;
      return;
    }
    li.classList.add("is-next");
    var stop = stopOf(li);
    var route = routeOf(stop);
    var data = route ? route.stops[stop.stop_index] : null;
    if (card.getAttribute("data-stop") !== li.id) {
      card.setAttribute("data-stop", li.id);
      body.textContent = "";
      var head = li.querySelector(".stop-head").cloneNode(true);
      var times = li.querySelector(".stop-times").cloneNode(true);
      var state = document.createElement("div");
      state.className = "stop-state";
      var note = li.querySelector("label.note").cloneNode(true);
      var buttons = li.querySelector(".buttons").cloneNode(true);
      body.appendChild(head);
      body.appendChild(times);
      body.appendChild(state);
      body.appendChild(note);
      body.appendChild(buttons);
      buttons.querySelectorAll("button").forEach(function (b) {
        b.addEventListener("click", function () {
          checkIn(li, b.getAttribute("data-kind"), b, note.querySelector("textarea"));
        });
      });
      drawMap(route, data);
    }
    body.querySelector(".stop-state").innerHTML = li.querySelector(".stop-state").innerHTML;
  }

  function drawMap(route, stop) {
    var box = document.getElementById("next-map");
    if (!window.L || !box || !route || !stop) { return; }
    box.hidden = false;
    if (!map) {
      map = L.map(box, {zoomControl: true, attributionControl: !!page.tiles});
      if (page.tiles) {
        L.tileLayer(page.tiles, {attribution: page.attribution, maxZoom: 19}).addTo(map);
      }
      mapLayers = L.layerGroup().addTo(map);
      window.gridplanPatrolMap = map;  // for the browser tests
    }
    mapLayers.clearLayers();
    var bounds = L.latLngBounds([]);
    if (route.path && route.path.length > 1) {
      L.polyline(route.path.map(function (c) { return [c[1], c[0]]; }),
        {color: "#5b6475", weight: 3, opacity: 0.6}).addTo(mapLayers);
    }
    route.stops.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], {radius: 5, color: "#1f4e9c", weight: 2, fillOpacity: 0.5})
        .bindTooltip(String(p.order)).addTo(mapLayers);
    });
    if (stop.cell) {
      var cell = L.geoJSON(stop.cell, {style: {color: "#d81b60", weight: 2, fillOpacity: 0.12}}).addTo(mapLayers);
      bounds.extend(cell.getBounds());
    }
    L.circleMarker([stop.lat, stop.lon], {radius: 9, color: "#d81b60", weight: 3, fillOpacity: 0.8})
      .addTo(mapLayers);
    bounds.extend([stop.lat, stop.lon]);
    if (lastPosition) {
      L.circle([lastPosition.lat, lastPosition.lon], {radius: lastPosition.accuracy_m || 10, color: "#1a7f37", weight: 1})
        .addTo(mapLayers);
    }
    map.fitBounds(bounds, {padding: [16, 16], maxZoom: 18});
  }

  // ------------------------------------------------------------------ position and check-ins

  function position() {
    return new Promise(function (resolve) {
      if (!window.isSecureContext) { resolve({error: T.insecure}); return; }
      if (!navigator.geolocation) { resolve({error: T.unsupported}); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({lon: p.coords.longitude, lat: p.coords.latitude, accuracy_m: p.coords.accuracy});
      }, function (err) {
        var messages = {1: T.denied, 2: T.unavailable, 3: T.timeout};
        resolve({error: messages[err.code] || T.unavailable});
      }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 0});
    });
  }

  function checkIn(li, kind, button, noteField) {
    var stop = stopOf(li);
    var clientAt = new Date().toISOString();  // when the button was pressed
    var note = noteField || li.querySelector(".stop-note");
    var buttons = li.querySelectorAll("button.big");
    buttons.forEach(function (b) { b.disabled = true; });
    if (button) { button.disabled = true; }
    say(T.locating, "");
    position().then(function (pos) {
      var item = {
        client_id: newId(), plan_id: stop.plan_id, slice_id: stop.slice_id,
        route_index: stop.route_index, stop_index: stop.stop_index, kind: kind,
        client_at: clientAt, lon: null, lat: null, accuracy_m: null,
        note: note ? note.value.trim() : ""
      };
      if (pos.error) {
        say(pos.error, "warning");
      } else {
        item.lon = pos.lon;
        item.lat = pos.lat;
        item.accuracy_m = pos.accuracy_m;
        lastPosition = pos;
        say(navigator.onLine ? T.recorded : T.queued, navigator.onLine ? "success" : "warning");
      }
      var st = load();
      st.queue.push(item);
      save(st);  // kept before anything is sent
      if (note) { note.value = ""; }
      buttons.forEach(function (b) { b.disabled = false; });
      if (button) { button.disabled = false; }
      var card = document.getElementById("next-stop");
      if (card) { card.removeAttribute("data-stop"); }  // draw the next stop again
      render();
      sync();
    });
  }

  function post(item) {
    var body = {};
    ["client_id", "plan_id", "slice_id", "route_index", "stop_index", "kind", "client_at",
      "lon", "lat", "accuracy_m", "note"].forEach(function (k) { body[k] = item[k]; });
    return fetch(page.urls.check_in, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body)
    });
  }

  function refreshState() {
    return fetch(page.urls.state, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        csrf = data.csrf_token || csrf;
        page.check_ins = data.check_ins;
        var onServer = {};
        data.check_ins.forEach(function (c) { onServer[c.client_id] = true; });
        var st = load();
        st.sent = st.sent.filter(function (c) { return !onServer[c.client_id]; });
        save(st);
      })
      .catch(function () { return null; });
  }

  // send the queue, oldest first; stop at the first answer that says "later"
  function sync() {
    if (syncing || !navigator.onLine) { render(); return Promise.resolve(); }
    syncing = true;
    var sentAny = false;
    var retriedToken = false;
    function step() {
      var st = load();
      var item = st.queue.filter(function (c) { return !c.refused; })[0];
      if (!item) { return Promise.resolve(); }
      return post(item).then(function (resp) {
        if (resp.status === 200 || resp.status === 201) {
          return resp.json().then(function (answer) {
            var s = load();
            s.queue = s.queue.filter(function (c) { return c.client_id !== item.client_id; });
            item.inside = answer.inside;
            item.distance_m = answer.distance_m;
            s.sent.push(item);
            save(s);
            sentAny = true;
            return step();
          });
        }
        if (resp.status === 400 && !retriedToken) {  // an old form token: take a fresh one
          retriedToken = true;
          return refreshState().then(step);
        }
        if (resp.status === 401) { say(T.login, "warning"); return null; }
        if ([403, 404, 409, 413, 422].indexOf(resp.status) >= 0) {
          return resp.json().catch(function () { return {}; }).then(function (answer) {
            var s = load();
            s.queue.forEach(function (c) {
              if (c.client_id === item.client_id) { c.refused = answer.error || String(resp.status); }
            });
            save(s);
            return step();
          });
        }
        return null;  // the server is not answering well: the queue waits
      });
    }
    return step().catch(function () { return null; }).then(function () {
      return sentAny ? refreshState() : null;
    }).then(function () {
      syncing = false;
      render();
    });
  }

  // ------------------------------------------------------------------ start

  stopItems().forEach(function (li) {
    li.querySelectorAll("button.big").forEach(function (b) {
      b.addEventListener("click", function () { checkIn(li, b.getAttribute("data-kind"), b); });
    });
  });
  window.addEventListener("online", function () { sync(); });
  window.addEventListener("offline", render);
  window.setInterval(function () { sync(); }, 30000);
  window.gridplanPatrol = {sync: sync, load: load, key: KEY};  // for the browser tests
  render();
  sync();
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register(page.urls.worker, {scope: page.urls.scope}).catch(function () {
      return null;  // the page still works online; the message is in the browser's console
    });
  }
}());
