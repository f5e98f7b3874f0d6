#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_PATH "ipc_mmap.dat"
#define FILE_SIZE 4096
#define REPLY_AT 2048  // The child's reply goes in the second half

int main() {
    int fd;
    char *data;

    // Open the backing file, created empty, and make it FILE_SIZE long
    if ((fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644)) == -1) {
        perror("open");
        exit(1);
    }

    if (ftruncate(fd, FILE_SIZE) == -1) {
        perror("ftruncate");
        exit(1);
    }

    // Map it shared: stores into the mapping are stores into the file
    data = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }

    printf("Mapped %s (%d bytes)\n", FILE_PATH, FILE_SIZE);

    // Write the message, then flush the mapping to the file
    strcpy(data, "Hello from the parent via a memory-mapped file!");
    if (msync(data, FILE_SIZE, MS_SYNC) == -1) {
        perror("msync");
        exit(1);
    }

    printf("Parent wrote: %s\n", data);

    pid_t pid = fork();

    if (pid == -1) {
        perror("fork");
        exit(1);
    }

    if (pid == 0) {
        // Child process: open and map the file by its name, as any
        // other process could
        int cfd = open(FILE_PATH, O_RDWR);
        if (cfd == -1) {
            perror("open");
            exit(1);
        }

        char *cdata = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        if (cdata == MAP_FAILED) {
            perror("mmap");
            exit(1);
        }

        printf("Child read: %s\n", cdata);

        // Answer in the second half, and flush
        strcpy(cdata + REPLY_AT, "Hello from the child via the same file!");
        if (msync(cdata, FILE_SIZE, MS_SYNC) == -1) {
            perror("msync");
            exit(1);
        }

        munmap(cdata, FILE_SIZE);
        close(cfd);
        exit(0);
    } else {
        // Parent process: once the child is done, its reply is in the mapping
        wait(NULL);

        printf("Parent read reply: %s\n", data + REPLY_AT);

        // Unmap and close: the file keeps the data
        if (munmap(data, FILE_SIZE) == -1) {
            perror("munmap");
            exit(1);
        }
        close(fd);

        // Read the start of the file with read(), without mapping it
        char text[100];
        if ((fd = open(FILE_PATH, O_RDONLY)) == -1) {
            perror("open");
            exit(1);
        }
        if (read(fd, text, sizeof(text)) == -1) {
            perror("read");
            exit(1);
        }
        text[sizeof(text) - 1] = '\0';
        close(fd);

        printf("File %s still holds: %s\n", FILE_PATH, text);
    }

    return 0;
}
