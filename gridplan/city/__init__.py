"""City scale: many stations at once, on a Dask cluster.

- :mod:`~gridplan.city.cityfile`: the city file (``city.toml``) that lists the stations and
  their files (:class:`City`, :class:`CityStation`, :func:`load_city`).
- :mod:`~gridplan.city.cluster`: a Dask client on an existing scheduler or a local cluster
  (:func:`connect`).
- :mod:`~gridplan.city.hotspots`: hot spots of every station over the city's incidents with
  dask-geopandas (:func:`~gridplan.city.hotspots.city_hotspots`) and the single-process path
  that gives the same numbers (:func:`~gridplan.city.hotspots.city_hotspots_local`).
- :mod:`~gridplan.city.plans`: every station's plan for a day, one Dask task per station
  (:func:`~gridplan.city.plans.plan_city`).

Dask, distributed and dask-geopandas are imported only inside these modules' functions, so
``import gridplan`` never loads them.
"""
