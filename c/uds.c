#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>  // wait(); the tutorial's listing omits it
#include <sys/socket.h>
#include <sys/un.h>

#define SOCKET_PATH "/tmp/ipc_socket"
#define BUFFER_SIZE 100

int main() {
    pid_t pid;
    
    // Create child process
    pid = fork();
    
    if (pid == -1) {
        perror("fork");
        exit(EXIT_FAILURE);
    }
    
    if (pid == 0) {
        // Child process: client
        sleep(1);  // Wait for server to set up
        
        int client_sock;
        struct sockaddr_un server_addr;
        char buffer[BUFFER_SIZE];
        
        // Create socket
        if ((client_sock = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
            perror("socket");
            exit(EXIT_FAILURE);
        }
        
        memset(&server_addr, 0, sizeof(server_addr));
        server_addr.sun_family = AF_UNIX;
        strncpy(server_addr.sun_path, SOCKET_PATH, sizeof(server_addr.sun_path) - 1);
        
        // Connect to server
        if (connect(client_sock, (struct sockaddr*)&server_addr, sizeof(server_addr)) == -1) {
            perror("connect");
            exit(EXIT_FAILURE);
        }
        
        printf("Client connected to server\n");
        
        // Send message to server
        const char *message = "Hello from the client!";
        if (send(client_sock, message, strlen(message), 0) == -1) {
            perror("send");
            exit(EXIT_FAILURE);
        }
        
        // Receive response
        int bytes_received = recv(client_sock, buffer, BUFFER_SIZE - 1, 0);
        if (bytes_received == -1) {
            perror("recv");
            exit(EXIT_FAILURE);
        }
        
        buffer[bytes_received] = '\0';
        printf("Client received: %s\n", buffer);
        
        // Close connection
        close(client_sock);
        exit(EXIT_SUCCESS);
    } else {
        // Parent process: server
        int server_sock, client_sock;
        struct sockaddr_un server_addr, client_addr;
        socklen_t client_len;
        char buffer[BUFFER_SIZE];
        
        // Create socket
        if ((server_sock = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
            perror("socket");
            exit(EXIT_FAILURE);
        }
        
        // Remove socket file if it already exists
        unlink(SOCKET_PATH);
        
        // Setup address structure
        memset(&server_addr, 0, sizeof(server_addr));
        server_addr.sun_family = AF_UNIX;
        strncpy(server_addr.sun_path, SOCKET_PATH, sizeof(server_addr.sun_path) - 1);
        
        // Bind socket
        if (bind(server_sock, (struct sockaddr*)&server_addr, sizeof(server_addr)) == -1) {
            perror("bind");
            exit(EXIT_FAILURE);
        }
        
        // Listen for connections
        if (listen(server_sock, 5) == -1) {
            perror("listen");
            exit(EXIT_FAILURE);
        }
        
        printf("Server waiting for connection...\n");
        
        // Accept connection
        client_len = sizeof(client_addr);
        if ((client_sock = accept(server_sock, (struct sockaddr*)&client_addr, &client_len)) == -1) {
            perror("accept");
            exit(EXIT_FAILURE);
        }
        
        printf("Server accepted connection\n");
        
        // Receive message
        int bytes_received = recv(client_sock, buffer, BUFFER_SIZE - 1, 0);
        if (bytes_received == -1) {
            perror("recv");
            exit(EXIT_FAILURE);
        }
        
        buffer[bytes_received] = '\0';
        printf("Server received: %s\n", buffer);
        
        // Send response
        const char *response = "Hello from the server!";
        if (send(client_sock, response, strlen(response), 0) == -1) {
            perror("send");
            exit(EXIT_FAILURE);
        }
        
        // Clean up
        close(client_sock);
        close(server_sock);
        unlink(SOCKET_PATH);
        
        // Wait for child to finish
        wait(NULL);
    }
    
    return 0;
}
