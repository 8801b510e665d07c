// The C reference for suite/machine/core_latency.py: the round trip of one cache line between two
// threads pinned to CPU 0 and CPU 1. Prints the fastest, median and slowest batch mean in ns.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static _Alignas(64) _Atomic long flag = 0;
static long N = 200000;
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void* pong(void* a){pin(1);for(long i=0;i<N*21;i++){while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+1);atomic_store_explicit(&flag,2*i+2,memory_order_release);}return 0;}
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){if(argc>1)N=atol(argv[1]);pin(0);pthread_t t;pthread_create(&t,0,pong,0);
 double r[21];long k=0;for(int b=0;b<21;b++){double t0=now();for(long i=0;i<N;i++,k++){atomic_store_explicit(&flag,2*k+1,memory_order_release);while(atomic_load_explicit(&flag,memory_order_acquire)!=2*k+2);}r[b]=(now()-t0)/N;}
 pthread_join(t,0);qsort(r+1,20,sizeof(double),cmp);printf("%.1f %.1f %.1f\n",r[1],r[10],r[20]);return 0;}
