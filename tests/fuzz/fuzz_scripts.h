/* fuzz_scripts: the scripts folder the handler harnesses validate tasks
 * against: a fixed path (inputs stay reproducible) holding one executable. */
#ifndef PROV_FUZZ_SCRIPTS_H
#define PROV_FUZZ_SCRIPTS_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static inline const char *fuzz_scripts_dir(void)
{
	static char dir[128];
	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/prov-fuzz-scripts.%u", (unsigned)getuid());
		mkdir(dir, 0700);
		char script[192];
		snprintf(script, sizeof script, "%s/notify.sh", dir);
		int fd = open(script, O_WRONLY | O_CREAT | O_CLOEXEC, 0700);
		if (fd >= 0)
			close(fd);
	}
	return dir;
}

#endif
