/* Internal: finding and loading driver and plugin modules (libltdl). */
#ifndef RS_LOADER_H
#define RS_LOADER_H

#include "internal.h"
#include <rowsync/driver.h>
#include <rowsync/plugin.h>

/* Loads the driver module `name` (once per context; later calls return the
 * same table). Search order: ctx->module_path, $ROWSYNC_MODULE_PATH, then
 * the install directory. The table stays valid until rs_modules_unload.
 * Errors, each distinct: ROWSYNC_ENOTFOUND (lists every path searched),
 * ROWSYNC_ERROR "could not be loaded" (with the loader's message),
 * ROWSYNC_EABI for a missing entry symbol, a refused or mismatched ABI
 * version (both versions named) or a truncated table. */
RS_HIDDEN int rs_driver_load(rowsync_ctx_t *ctx, const char *name,
                             const rowsync_driver_t **out,
                             rowsync_error_t *err);
RS_HIDDEN int rs_plugin_load(rowsync_ctx_t *ctx, const char *name,
                             const rowsync_plugin_t **out,
                             rowsync_error_t *err);
/* Unloads every module the context loaded. */
RS_HIDDEN void rs_modules_unload(rowsync_ctx_t *ctx);

#endif
