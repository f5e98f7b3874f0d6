#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#define ITERATIONS 3

// semctl's fourth argument: the program must declare it (see semctl(2))
union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

// Wait (P): block until the value is above 0, then take 1.
// SEM_UNDO: if this process dies holding it, the kernel gives it back.
void sem_wait_op(int semid) {
    struct sembuf op = {0, -1, SEM_UNDO};
    if (semop(semid, &op, 1) == -1) {
        perror("semop lock");
        exit(1);
    }
}

// Signal (V): give 1 back, waking a process that waits
void sem_signal_op(int semid) {
    struct sembuf op = {0, 1, SEM_UNDO};
    if (semop(semid, &op, 1) == -1) {
        perror("semop unlock");
        exit(1);
    }
}

int main() {
    key_t key;
    int semid;
    union semun arg;

    // Generate a unique key for the semaphore set
    if ((key = ftok(".", 'c')) == -1) {
        perror("ftok");
        exit(1);
    }

    // Create a set of one semaphore
    if ((semid = semget(key, 1, IPC_CREAT | 0666)) == -1) {
        perror("semget");
        exit(1);
    }

    // Give it the value 1: one process at a time may enter
    arg.val = 1;
    if (semctl(semid, 0, SETVAL, arg) == -1) {
        perror("semctl SETVAL");
        exit(1);
    }

    printf("Semaphore set created: %d\n", semid);

    pid_t pid = fork();

    if (pid == -1) {
        perror("fork");
        exit(1);
    }

    // Parent and child run the same loop
    const char *name = (pid == 0) ? "Child" : "Parent";

    for (int i = 0; i < ITERATIONS; i++) {
        sem_wait_op(semid);

        // Critical section: the other process waits in semop meanwhile
        printf("%s: entered critical section\n", name);
        usleep(300000);
        printf("%s: leaving critical section\n", name);

        sem_signal_op(semid);
        usleep(100000);  // Let the other process take its turn
    }

    if (pid == 0) {
        // Child process: done
        exit(0);
    }

    // Parent process: wait for the child, then remove the set
    wait(NULL);

    if (semctl(semid, 0, IPC_RMID) == -1) {
        perror("semctl IPC_RMID");
        exit(1);
    }

    printf("Semaphore set removed\n");

    return 0;
}
