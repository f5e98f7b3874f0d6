#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Set by the handlers below. A handler may only store to a
// volatile sig_atomic_t: everything else happens in main.
static volatile sig_atomic_t usr1_count = 0;
static volatile sig_atomic_t got_term = 0;

void on_usr1(int sig) {
    (void) sig;
    usr1_count++;
}

void on_term(int sig) {
    (void) sig;
    got_term = 1;
}

int main() {
    struct sigaction sa;
    sigset_t block_set, old_set;

    // Block SIGUSR1 and SIGTERM first: a signal that arrives before a
    // process waits for it stays pending instead of being lost
    sigemptyset(&block_set);
    sigaddset(&block_set, SIGUSR1);
    sigaddset(&block_set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &block_set, &old_set) == -1) {
        perror("sigprocmask");
        exit(1);
    }

    // Install the handler for SIGUSR1 (the child inherits it)
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) == -1) {
        perror("sigaction");
        exit(1);
    }

    printf("Parent installed SIGUSR1 handler\n");

    pid_t pid = fork();

    if (pid == -1) {
        perror("fork");
        exit(1);
    }

    if (pid == 0) {
        // Child process: handle SIGTERM, then signal the parent
        sa.sa_handler = on_term;
        if (sigaction(SIGTERM, &sa, NULL) == -1) {
            perror("sigaction");
            exit(1);
        }

        // The parent has SIGUSR1 blocked: the three signals wait as one,
        // because a standard signal is pending or not, never counted
        printf("Child sending SIGUSR1 to parent 3 times\n");
        for (int i = 0; i < 3; i++) {
            if (kill(getppid(), SIGUSR1) == -1) {
                perror("kill");
                exit(1);
            }
        }

        // Sleep with the old mask (SIGTERM unblocked) until SIGTERM comes
        while (!got_term) {
            sigsuspend(&old_set);
        }

        printf("Child received SIGTERM, exiting cleanly\n");
        exit(0);
    } else {
        // Parent process: let the child send all three first
        sleep(1);

        // Sleep with the old mask (SIGUSR1 unblocked) until the handler ran
        while (usr1_count == 0) {
            sigsuspend(&old_set);
        }

        printf("Parent received SIGUSR1 %d time(s)\n", (int) usr1_count);

        // Tell the child to finish
        printf("Parent sending SIGTERM to child\n");
        if (kill(pid, SIGTERM) == -1) {
            perror("kill");
            exit(1);
        }

        // Wait for the child and report how it ended
        int status;
        if (waitpid(pid, &status, 0) == -1) {
            perror("waitpid");
            exit(1);
        }

        if (WIFEXITED(status)) {
            printf("Child exited with status %d\n", WEXITSTATUS(status));
        } else if (WIFSIGNALED(status)) {
            printf("Child killed by signal %d\n", WTERMSIG(status));
        }
    }

    return 0;
}
