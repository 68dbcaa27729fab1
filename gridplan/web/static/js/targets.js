// The Targets page's map: the station outline, the station's targets, and Leaflet.draw tools
// to draw a street section (a line) or place a point target. The drawn shape goes into the
// form's hidden "geometry" field as GeoJSON. Served from the app (no inline scripts, no CDN).
(function () {
  "use strict";
  var box = document.getElementById("target-map");
  if (!box || !window.L) { return; }
  var page = JSON.parse(box.getAttribute("data-page"));
  var labels = JSON.parse(box.getAttribute("data-labels"));
  L.Icon.Default.imagePath = box.ownerDocument.querySelector("link[href*='vendor/leaflet/leaflet.css']")
    .getAttribute("href").replace("leaflet.css", "images/");
  var map = L.map(box, {preferCanvas: false});
  window.gridplanTargetMap = map;  // for the browser tests
  if (page.tiles) {
    L.tileLayer(page.tiles, {attribution: page.attribution, maxZoom: 19}).addTo(map);
  }
  // the view first: Leaflet cannot draw a circle marker on a map that has none yet
  function latlngs(coords) { return coords.map(function (c) { return [c[1], c[0]]; }); }
  var bounds = L.latLngBounds([]);
  var outline = page.outline ? L.geoJSON(page.outline, {style: {color: "#555", weight: 1, fill: false}}) : null;
  if (outline) { bounds.extend(outline.getBounds()); }
  page.targets.forEach(function (t) { latlngs(t.coords).forEach(function (ll) { bounds.extend(ll); }); });
  if (bounds.isValid()) { map.fitBounds(bounds, {padding: [20, 20]}); } else { map.setView([0, 0], 2); }
  if (outline) { outline.addTo(map); }
  page.targets.forEach(function (t) {
    var tip = t.name + " · " + t.windows;
    var layer = t.coords.length > 1
      ? L.polyline(latlngs(t.coords), {color: "#6a1b9a", weight: 6, opacity: 0.6})
      : L.circleMarker(latlngs(t.coords)[0], {radius: 9, color: "#6a1b9a", weight: 3});
    layer.bindTooltip(tip).addTo(map);
  });

  var drawn = new L.FeatureGroup().addTo(map);
  var field = document.getElementById("target-geometry");
  if (!field) { return; }  // a reader: the map only
  L.drawLocal.draw.toolbar.buttons.polyline = labels.line;
  L.drawLocal.draw.toolbar.buttons.marker = labels.point;
  L.drawLocal.draw.toolbar.actions.text = labels.cancel;
  L.drawLocal.draw.toolbar.finish.text = labels.finish;
  L.drawLocal.draw.toolbar.undo.text = labels.undo;
  L.drawLocal.draw.handlers.polyline.tooltip = {start: labels.start, cont: labels.cont, end: labels.end};
  L.drawLocal.draw.handlers.marker.tooltip = {start: labels.marker};
  map.addControl(new L.Control.Draw({
    position: "topleft",
    draw: {polyline: {shapeOptions: {color: "#d81b60", weight: 6}}, marker: true,
           polygon: false, rectangle: false, circle: false, circlemarker: false},
    edit: false
  }));
  function keep(layer) {
    drawn.clearLayers();
    drawn.addLayer(layer);
    field.value = JSON.stringify(layer.toGeoJSON().geometry);
  }
  map.on(L.Draw.Event.CREATED, function (e) { keep(e.layer); });
  if (field.value) {  // the form came back with an error: show what was drawn
    try { keep(L.geoJSON(JSON.parse(field.value)).getLayers()[0]); } catch (err) { field.value = ""; }
  } else if (page.editing) {
    var c = page.editing.coords;
    var shape = c.length > 1 ? L.polyline(latlngs(c), {color: "#d81b60", weight: 6}) : L.marker(latlngs(c)[0]);
    drawn.addLayer(shape);
  }
}());
