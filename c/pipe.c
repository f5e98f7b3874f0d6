#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>  // wait(); the tutorial's listing omits it
#include <string.h>

int main() {
    int pipefd[2];  // File descriptors for pipe
    pid_t pid;
    char buffer[100];
    const char *message = "Hello from parent via pipe!";
    
    // Create the pipe
    if (pipe(pipefd) == -1) {
        perror("pipe");
        exit(EXIT_FAILURE);
    }
    
    // Create a child process
    pid = fork();
    
    if (pid == -1) {
        perror("fork");
        exit(EXIT_FAILURE);
    }
    
    if (pid == 0) {
        // Child process
        
        // Close the write end as we only need to read
        close(pipefd[1]);
        
        // Read from pipe
        int bytes_read = read(pipefd[0], buffer, sizeof(buffer));
        
        if (bytes_read > 0) {
            buffer[bytes_read] = '\0';  // Null-terminate the string
            printf("Child received: %s\n", buffer);
        } else {
            perror("read");
        }
        
        // Close the read end
        close(pipefd[0]);
        
        exit(EXIT_SUCCESS);
    } else {
        // Parent process
        
        // Close the read end as we only need to write
        close(pipefd[0]);
        
        // Write to pipe
        if (write(pipefd[1], message, strlen(message)) == -1) {
            perror("write");
        }
        
        printf("Parent sent: %s\n", message);
        
        // Close the write end
        close(pipefd[1]);
        
        // Wait for child to finish
        wait(NULL);
    }
    
    return 0;
}
