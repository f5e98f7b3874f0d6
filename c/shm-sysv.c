#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>
#include <sys/wait.h>  // wait(); the tutorial's listing omits it

#define SHM_SIZE 1024  // Size of shared memory segment

int main() {
    key_t key;
    int shmid;
    char *shm_ptr;
    
    // Generate a unique key for shared memory
    if ((key = ftok(".", 'a')) == -1) {
        perror("ftok");
        exit(1);
    }
    
    // Create the shared memory segment
    if ((shmid = shmget(key, SHM_SIZE, IPC_CREAT | 0666)) == -1) {
        perror("shmget");
        exit(1);
    }
    
    printf("Shared memory segment created: %d\n", shmid);
    
    // Attach the shared memory segment
    if ((shm_ptr = shmat(shmid, NULL, 0)) == (char *) -1) {
        perror("shmat");
        exit(1);
    }
    
    printf("Shared memory attached at address: %p\n", shm_ptr);
    
    // Fork a child process
    pid_t pid = fork();
    
    if (pid == -1) {
        perror("fork");
        exit(1);
    }
    
    if (pid == 0) {
        // Child process: read from shared memory
        printf("Child process waiting for data...\n");
        sleep(2);  // Wait for parent to write data
        
        printf("Child process reading: %s\n", shm_ptr);
        
        // Detach from shared memory
        if (shmdt(shm_ptr) == -1) {
            perror("shmdt");
            exit(1);
        }
        
        exit(0);
    } else {
        // Parent process: write to shared memory
        strcpy(shm_ptr, "Hello from the parent process!");
        printf("Parent wrote to shared memory\n");
        
        // Wait for child to finish
        wait(NULL);
        
        // Detach from shared memory
        if (shmdt(shm_ptr) == -1) {
            perror("shmdt");
            exit(1);
        }
        
        // Remove the shared memory segment
        if (shmctl(shmid, IPC_RMID, NULL) == -1) {
            perror("shmctl");
            exit(1);
        }
        
        printf("Shared memory removed\n");
    }
    
    return 0;
}
