/* fuzz_config: the configuration file every program reads (config_load),
 * given as a file; what loads must hold terminated strings. */
#include "fuzz_util.h"

#include "config.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	char path[64], err[2048];
	int fd = fuzz_memfile(data, size, path, sizeof path);
	if (fd < 0)
		return 0;
	if (config_load(path, &cfg, err, sizeof err) == 0) {
		if (!TERMINATED(cfg.db_socket) || !TERMINATED(cfg.db_host) || !TERMINATED(cfg.db_user) ||
		    !TERMINATED(cfg.db_password) || !TERMINATED(cfg.db_name) ||
		    !TERMINATED(cfg.scripts_dir) || !TERMINATED(cfg.templates_dir) ||
		    !TERMINATED(cfg.cache_path) || !TERMINATED(cfg.spool_dir))
			abort();
	} else if (!TERMINATED(err) || err[0] == '\0') {
		abort(); /* a failure always says why */
	}
	close(fd);
	return 0;
}
