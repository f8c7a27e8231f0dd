/* binary-trees (Computer Language Benchmarks Game), the C peer of binary_trees.syn. Nodes come
 * from the bump arena of common.c and are never freed, as in the .syn program.
 * Input: the maximum depth n (default 10). Output: the game's report. */
#include "common.c"

#define MIN_DEPTH 4

struct node {
    struct node *left, *right;
};

static struct node *bottom_up(int depth) {
    struct node *node = arena_alloc(sizeof *node);
    if (depth > 0) {
        node->left = bottom_up(depth - 1);
        node->right = bottom_up(depth - 1);
    } else {
        node->left = 0;
        node->right = 0;
    }
    return node;
}

static int check(const struct node *tree) {
    if (tree == 0)
        return 0;
    return 1 + check(tree->left) + check(tree->right);
}

static void put_check(const char *label, int depth, int nodes) {
    put_str(label);
    put_int(depth);
    put_str("\t check: ");
    put_int(nodes);
    put_byte('\n');
}

EXPORT("main") void run(void) {
    int n = read_size(10);
    int max_depth = MIN_DEPTH + 2 > n ? MIN_DEPTH + 2 : n;
    int stretch_depth = max_depth + 1;
    put_check("stretch tree of depth ", stretch_depth, check(bottom_up(stretch_depth)));
    struct node *long_lived = bottom_up(max_depth);
    for (int depth = MIN_DEPTH; depth <= max_depth; depth += 2) {
        int iterations = 1 << (max_depth - depth + MIN_DEPTH);
        int nodes = 0;
        for (int i = 0; i < iterations; i++)
            nodes += check(bottom_up(depth));
        put_int(iterations);
        put_check("\t trees of depth ", depth, nodes);
    }
    put_check("long lived tree of depth ", max_depth, check(long_lived));
    flush();
}
