"""The street network: OSM and street-line sources, graphs and their cache, stops, matrices."""
