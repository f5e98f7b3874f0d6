#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>
#include <sys/wait.h>  // wait(); the tutorial's listing omits it

// Define message structure
struct message {
    long msg_type;
    char msg_text[100];
};

int main() {
    key_t key;
    int msgid;
    struct message msg;
    
    // Generate a unique key for message queue
    if ((key = ftok(".", 'b')) == -1) {
        perror("ftok");
        exit(1);
    }
    
    // Create the message queue
    if ((msgid = msgget(key, IPC_CREAT | 0666)) == -1) {
        perror("msgget");
        exit(1);
    }
    
    printf("Message queue created: %d\n", msgid);
    
    pid_t pid = fork();
    
    if (pid == -1) {
        perror("fork");
        exit(1);
    }
    
    if (pid == 0) {
        // Child process: receive message
        printf("Child waiting for message...\n");
        
        // Receive message
        if (msgrcv(msgid, &msg, sizeof(msg.msg_text), 1, 0) == -1) {
            perror("msgrcv");
            exit(1);
        }
        
        printf("Child received: %s\n", msg.msg_text);
        
        // Send a response back to parent
        msg.msg_type = 2;  // Different message type for parent
        strcpy(msg.msg_text, "Hello from the child process!");
        
        if (msgsnd(msgid, &msg, strlen(msg.msg_text) + 1, 0) == -1) {
            perror("msgsnd");
            exit(1);
        }
        
        exit(0);
    } else {
        // Parent process: send message
        msg.msg_type = 1;  // Message type for child
        strcpy(msg.msg_text, "Hello from the parent process!");
        
        // Send the message
        if (msgsnd(msgid, &msg, strlen(msg.msg_text) + 1, 0) == -1) {
            perror("msgsnd");
            exit(1);
        }
        
        printf("Parent sent message\n");
        
        // Receive response from child
        if (msgrcv(msgid, &msg, sizeof(msg.msg_text), 2, 0) == -1) {
            perror("msgrcv");
            exit(1);
        }
        
        printf("Parent received: %s\n", msg.msg_text);
        
        // Wait for child to finish
        wait(NULL);
        
        // Remove the message queue
        if (msgctl(msgid, IPC_RMID, NULL) == -1) {
            perror("msgctl");
            exit(1);
        }
        
        printf("Message queue removed\n");
    }
    
    return 0;
}
