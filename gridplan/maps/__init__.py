"""Maps: the colour palette (no folium), folium layers, hot-spot maps and the web UI maps."""
