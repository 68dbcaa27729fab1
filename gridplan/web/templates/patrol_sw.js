// gridplan patrol phone page: the service worker that keeps the page and its files on the phone,
// so that it opens and takes check-ins on a bad connection (gridplan.web.views.patrol). Nothing
// comes from a CDN: every file is the app's own. Check-ins are not sent from here: the page keeps
// them in the phone's storage and sends them itself when it is online.
"use strict";
var CACHE = "gridplan-patrol-v1";
var PAGE = {{ page|tojson }};
var STATIC = {{ static|tojson }};

function keepPage(resp) {
  // the page as the server gave it to the logged-in user; never a login page after a redirect
  if (resp && resp.ok && !resp.redirected) {
    var copy = resp.clone();
    return caches.open(CACHE).then(function (c) { return c.put(PAGE, copy); }).then(function () { return resp; });
  }
  return resp;
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (c) { return c.addAll(STATIC); })
      .then(function () { return fetch(PAGE, {credentials: "same-origin"}).then(keepPage); })
      .catch(function () { return null; })  // offline while installing: kept on the next visit
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return k.indexOf("gridplan-patrol-") === 0 && k !== CACHE;
      }).map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// the page: the network first (fresh routes and check-ins), the kept copy when offline
function pageFirstFromNetwork(request) {
  return fetch(request).then(keepPage).catch(function () {
    return caches.match(PAGE).then(function (kept) { return kept || Response.error(); });
  });
}

// scripts, styles, the map library: the kept copy at once, refreshed in the background
function staticKept(request) {
  return caches.open(CACHE).then(function (c) {
    return c.match(request).then(function (kept) {
      var fresh = fetch(request).then(function (resp) {
        if (resp && resp.ok) { c.put(request, resp.clone()); }
        return resp;
      }).catch(function () { return kept || Response.error(); });
      return kept || fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // check-ins go to the server as they are
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === PAGE) {
    event.respondWith(pageFirstFromNetwork(request));
  } else if (STATIC.indexOf(url.pathname) >= 0) {
    event.respondWith(staticKept(request));
  }
});
