/** The package's version, as `--version`, /status, the fleet registry and the build-info metric show it. */
export const VERSION = '0.1.0';
