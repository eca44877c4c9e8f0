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
