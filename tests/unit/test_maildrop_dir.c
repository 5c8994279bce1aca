/* SPDX-License-Identifier: MIT */
/*
 * test_maildrop_dir - the maildrop directory (relay/maildrop_dir.c): file names, storing a
 * file (mode, no temporary file left, never over an existing one, never through a symbolic
 * link), the checks the postdrop helper makes on a directory before writing into it, and the
 * relay's preparation of the directory. The group/owner checks use the test's own ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "maildrop_dir.h"

static char dir[] = "/tmp/test_maildrop_dir.XXXXXX";

static int setup(void **state)
{
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        (void)state;
        return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_names(void **state)
{
        char a[MAILDROP_NAME_LEN + 1], b[MAILDROP_NAME_LEN + 1], t[64];

        (void)state;
        assert_int_equal(maildrop_new_name(a), 0);
        assert_int_equal(maildrop_new_name(b), 0);
        assert_string_not_equal(a, b);
        assert_true(maildrop_name_is_message(a));
        assert_false(maildrop_name_is_temp(a));
        (void)snprintf(t, sizeof t, "tmp.%s", a);
        assert_true(maildrop_name_is_temp(t));
        assert_false(maildrop_name_is_message(t));
        assert_false(maildrop_name_is_message("0123456789ABCDEF0123456789abcdef"));
        assert_false(maildrop_name_is_message("0123456789abcdef0123456789abcde"));
        assert_false(maildrop_name_is_message("../../../../etc/passwd"));
        assert_false(maildrop_name_is_temp("tmp.x"));
}

static void test_store(void **state)
{
        char name[MAILDROP_NAME_LEN + 1], path[256];
        struct stat st;
        int fd;

        (void)state;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(maildrop_new_name(name), 0);
        umask(077);
        assert_int_equal(maildrop_store(fd, name, "hello", 5), 0);
        (void)snprintf(path, sizeof path, "%s/%s", dir, name);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, MAILDROP_FILE_MODE);
        assert_int_equal(st.st_size, 5);
        (void)snprintf(path, sizeof path, "%s/tmp.%s", dir, name);
        assert_int_equal(stat(path, &st), -1); /* no temporary file left */
        /* never over an existing file */
        assert_int_equal(maildrop_store(fd, name, "other", 5), -EEXIST);
        /* a symbolic link planted at the temporary name is not followed */
        assert_int_equal(maildrop_new_name(name), 0);
        (void)snprintf(path, sizeof path, "%s/tmp.%s", dir, name);
        assert_int_equal(symlink("/tmp/test_maildrop_dir_target_nonexistent", path), 0);
        assert_int_equal(maildrop_store(fd, name, "x", 1), -EEXIST);
        assert_int_equal(stat("/tmp/test_maildrop_dir_target_nonexistent", &st), -1);
        assert_int_equal(maildrop_store(fd, "../escape", "x", 1), -EINVAL);
        close(fd);
}

static void test_check(void **state)
{
        char sub[256];
        int fd;

        (void)state;
        (void)snprintf(sub, sizeof sub, "%s/md", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        fd = open(sub, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(chmod(sub, 01730), 0);
        /* a real maildrop of our group, owned by "someone else" (uid 0 for the test) */
        assert_int_equal(maildrop_dir_check(fd, 12345, getegid()), geteuid() == 12345 ? -EPERM : 0);
        /* not our group */
        assert_int_equal(maildrop_dir_check(fd, 12345, getegid() + 1), -EPERM);
        /* owned by the caller itself */
        assert_int_equal(maildrop_dir_check(fd, geteuid() ? geteuid() : 1, getegid()),
                         geteuid() ? -EPERM : 0);
        /* without the sticky bit, open to others, not group-writable */
        assert_int_equal(chmod(sub, 0730), 0);
        assert_int_equal(maildrop_dir_check(fd, 12345, getegid()), -EPERM);
        assert_int_equal(chmod(sub, 01733), 0);
        assert_int_equal(maildrop_dir_check(fd, 12345, getegid()), -EPERM);
        assert_int_equal(chmod(sub, 01710), 0);
        assert_int_equal(maildrop_dir_check(fd, 12345, getegid()), -EPERM);
        close(fd);
}

static void test_prepare(void **state)
{
        struct stat st;
        char sub[256];
        int spool, fd;

        (void)state;
        (void)snprintf(sub, sizeof sub, "%s/spool", dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        spool = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(spool >= 0);
        umask(022);
        assert_int_equal(maildrop_dir_prepare(spool, geteuid(), getegid(), &fd), 0);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_mode & 07777, MAILDROP_DIR_MODE);
        assert_int_equal(st.st_gid, getegid());
        close(fd);
        /* the spool lets the group through */
        assert_int_equal(fstat(spool, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0710);
        /* again: it exists, same result */
        assert_int_equal(maildrop_dir_prepare(spool, geteuid(), (gid_t)-1, &fd), 0);
        close(fd);
        close(spool);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_store),
                cmocka_unit_test(test_check),
                cmocka_unit_test(test_prepare),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
