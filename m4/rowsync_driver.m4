dnl ROWSYNC_DRIVER(NAME, DESCRIPTION, PROBE)
dnl Adds --with-NAME=auto|yes|no (default auto). PROBE runs unless the
dnl driver is disabled; it sets driver_ok=yes, or driver_reason to why not.
dnl Defines the automake conditional BUILD_DRIVER_NAME and records one
dnl summary line; a driver asked for with =yes that cannot be built is
dnl collected in rowsync_driver_errors (configure fails after the summary).
AC_DEFUN([ROWSYNC_DRIVER], [
  AC_ARG_WITH([$1], [AS_HELP_STRING([--with-$1=auto|yes|no], [build the $2 driver (default: auto)])],
              [], [with_$1=auto])
  driver_ok=no
  driver_reason=
  AS_CASE([$with_$1],
    [no], [driver_reason="disabled by --with-$1=no"],
    [yes|auto], [$3],
    [AC_MSG_ERROR([--with-$1 takes auto, yes or no, not '$with_$1'])])
  AS_IF([test "x$driver_ok" = xyes],
        [rowsync_summary_$1="yes"],
        [rowsync_summary_$1="no: $driver_reason"
         AS_IF([test "x$with_$1" = xyes],
               [rowsync_driver_errors="$rowsync_driver_errors $1 ($driver_reason)"])])
  AM_CONDITIONAL(m4_toupper([BUILD_DRIVER_$1]), [test "x$driver_ok" = xyes])
  rowsync_driver_names="$rowsync_driver_names $1"
])

dnl ROWSYNC_DRIVER_SUMMARY: one line per driver, with the reason one was skipped.
AC_DEFUN([ROWSYNC_DRIVER_SUMMARY], [
  for rowsync_d in $rowsync_driver_names; do
    eval rowsync_s=\$rowsync_summary_$rowsync_d
    AC_MSG_NOTICE([  driver $rowsync_d: $rowsync_s])
  done
])
