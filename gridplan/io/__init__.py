"""Files in and out: vector readers and writers, QGIS styles, plan files and plan exports."""
