// This file implements the process exit codes from the perspective of whatever runs cgi-fpm
// (a shell, systemd with `RestartPreventExitStatus=78`): BSD sysexits.h values.

/** Success. */
export const EX_OK = 0;

/**
 * The command line was wrong: unknown command or option, missing value.
 * @see sysexits.h `EX_USAGE`
 */
export const EX_USAGE = 64;

/**
 * An internal error (a bug, or a failure to start that is not the config's fault).
 * @see sysexits.h `EX_SOFTWARE`
 */
export const EX_SOFTWARE = 70;

/**
 * The config file is missing, unreadable, not valid TOML or not a valid config. systemd units
 * list it in `RestartPreventExitStatus=` so a bad config is not restarted in a loop.
 * @see sysexits.h `EX_CONFIG`
 */
export const EX_CONFIG = 78;

/**
 * The daemon cannot be reached: no control socket at the path (ENOENT), nothing listening on it
 * (ECONNREFUSED), or it hung up without answering. `cgi-fpm status`, `reload` and `stop` exit
 * with it when cgi-fpm is not running.
 * @see sysexits.h `EX_UNAVAILABLE`
 */
export const EX_UNAVAILABLE = 69;

/**
 * The daemon did not answer on its control socket in time; trying again later may work.
 * @see sysexits.h `EX_TEMPFAIL`
 */
export const EX_TEMPFAIL = 75;

/**
 * The daemon's answer on the control socket was not understood (another version of cgi-fpm,
 * or not cgi-fpm at all).
 * @see sysexits.h `EX_PROTOCOL`
 */
export const EX_PROTOCOL = 76;

/**
 * The control socket refused the caller (it is mode 0600: the daemon's user and root only).
 * @see sysexits.h `EX_NOPERM`
 */
export const EX_NOPERM = 77;

/**
 * A file or directory could not be created (`cgi-fpm install-layout`).
 * @see sysexits.h `EX_CANTCREAT`
 */
export const EX_CANTCREAT = 73;
