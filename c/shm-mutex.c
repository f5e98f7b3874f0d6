#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>  // wait(); the tutorial's listing omits it
#include <sys/types.h>

// Structure to be placed in shared memory
struct shared_data {
    pthread_mutex_t mutex;  // Mutex for synchronization
    int counter;            // Shared counter
};

int main() {
    int shm_fd;
    struct shared_data *shared;
    const char *shm_name = "/my_shared_memory";
    
    // Open shared memory object
    shm_fd = shm_open(shm_name, O_CREAT | O_RDWR, 0666);
    if (shm_fd == -1) {
        perror("shm_open");
        exit(1);
    }
    
    // Set the size of the shared memory object
    ftruncate(shm_fd, sizeof(struct shared_data));
    
    // Map shared memory
    shared = mmap(NULL, sizeof(struct shared_data), PROT_READ | PROT_WRITE, 
                  MAP_SHARED, shm_fd, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    
    // Initialize mutex with shared attribute
    pthread_mutexattr_t mutex_attr;
    pthread_mutexattr_init(&mutex_attr);
    pthread_mutexattr_setpshared(&mutex_attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&shared->mutex, &mutex_attr);
    
    // Initialize counter
    shared->counter = 0;
    
    pid_t pid = fork();
    
    if (pid == -1) {
        perror("fork");
        exit(1);
    }
    
    int i;
    const int iterations = 5;
    
    if (pid == 0) {
        // Child process
        for (i = 0; i < iterations; i++) {
            // Lock mutex
            pthread_mutex_lock(&shared->mutex);
            
            // Critical section
            shared->counter++;
            printf("Child: Incremented counter to %d\n", shared->counter);
            
            // Unlock mutex
            pthread_mutex_unlock(&shared->mutex);
            
            sleep(1);  // Sleep to make the interleaving visible
        }
    } else {
        // Parent process
        for (i = 0; i < iterations; i++) {
            // Lock mutex
            pthread_mutex_lock(&shared->mutex);
            
            // Critical section
            shared->counter += 10;
            printf("Parent: Incremented counter to %d\n", shared->counter);
            
            // Unlock mutex
            pthread_mutex_unlock(&shared->mutex);
            
            sleep(1);  // Sleep to make the interleaving visible
        }
        
        // Wait for child
        wait(NULL);
        
        // Clean up
        pthread_mutex_destroy(&shared->mutex);
        pthread_mutexattr_destroy(&mutex_attr);
        
        // Unmap and close
        munmap(shared, sizeof(struct shared_data));
        close(shm_fd);
        shm_unlink(shm_name);
    }
    
    return 0;
}
