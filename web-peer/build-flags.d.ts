// Build-time constants that vite.config.ts defines: each is replaced by its literal in the bundle,
// so a branch it turns off is dropped from the build.

/** True in `vite build --mode test` and the dev server: the page installs its test hooks (debug/test-hooks.ts). */
declare const __RINGMESH_TEST_HOOKS__: boolean;
