#!/usr/bin/env python3
# summary.py DIR - the figures of the closing note of December 8 (third
# session) for issue 23, from the four JSON files ipc_bench wrote in DIR
# (spsc.json, mpmc.json, lat.json, bcast.json; the commands are in
# docs/benchmarks.md, "December 8, third session: the final tree"): per
# size or shape the median of same-repetition ratios [min-max] and in how
# many repetitions shmring was at least as fast (round trips: at most).
import json, sys, statistics as st
def load(f):
    recs=[]
    for l in open(f):
        l=l.strip().rstrip(',')
        if l.startswith('{"kind"'):
            try: recs.append(json.loads(l))
            except Exception: pass
    return recs
def med(x): return st.median(x)
def rr(a,b): return [x/y for x,y in zip(a,b) if y]
def fmt(r, inv=False):
    m=med(r); w=sum(1 for x in r if (x<=1 if inv else x>=1))
    return "%.2f [%.2f-%.2f] %d/%d"%(m,min(r),max(r),w,len(r))
d=sys.argv[1]
S={(r['transport'],r['size']):r for r in load(d+'/spsc.json') if r['kind']=='stream'}
print("SPSC")
for s in (8,64,256,512,4096,65536):
    sp=S[('shm-spsc',s)]['per_rep_msgs_per_s']; rg=S[('ref-ring',s)]['per_rep_msgs_per_s']; ff=S[('ref-ff',s)]['per_rep_msgs_per_s']
    ref=[max(a,b) for a,b in zip(rg,ff)]
    zc=S[('shm-zc',s)]['per_rep_msgs_per_s']
    line="  %6d B: spsc x ref %s | zc/spsc %s | futex/1k %.4f | spsc %.1fM"%(s,fmt(rr(sp,ref)),fmt(rr(zc,sp)),S[('shm-spsc',s)]['futex_per_1k'] or 0, med(sp)/1e6)
    if s==8:
        b=S[('shm-burst256',s)]['per_rep_msgs_per_s']; pb=S[('pipe-batch',s)]['per_rep_msgs_per_s']
        line+=" | burst256/pipe-batch %s"%fmt(rr(b,pb))
    print(line)
M=load(d+'/mpmc.json')
MM={(r['transport'],r['size']):r for r in M if r['kind']=='mpmc'}
SS={(r['transport'],r['size']):r for r in M if r['kind']=='stream'}
print("MPMC")
for sh in ('1x1','1x4','4x1','2x2','4x4'):
    out=[]
    for s in (8,64):
        a=MM[('shm-mpmc-'+sh,s)]['per_rep_msgs_per_s']
        y=MM[('ref-vyukov-yield-'+sh,s)]['per_rep_msgs_per_s']; p=MM[('ref-vyukov-spin-'+sh,s)]['per_rep_msgs_per_s']
        ref=[max(u,v) for u,v in zip(y,p)]
        yw=sum(1 for u,v in zip(y,p) if u>=v)
        out.append("%d B %s (yield better %d/9, futex %.3f membar %.3f csw %.2f)"%(s,fmt(rr(a,ref)),yw,MM[('shm-mpmc-'+sh,s)]['futex_per_1k'] or 0,MM[('shm-mpmc-'+sh,s)]['membarrier_per_1k'] or 0,MM[('shm-mpmc-'+sh,s)]['csw_per_1k'] or 0))
    print("  %s: %s"%(sh," | ".join(out)))
for s in (8,64):
    a=MM[('shm-mpmc-1x1',s)]['per_rep_msgs_per_s']; b=SS[('shm-spsc',s)]['per_rep_msgs_per_s']
    print("  1x1/spsc %d B: %s"%(s,fmt(rr(a,b))))
L={(r['transport'],r['size']):r for r in load(d+'/lat.json') if r['kind']=='latency'}
print("LATENCY p50 shm-spsc/ref-ring (<=1 good)")
for s in (8,4096):
    a=L[('shm-spsc',s)]['per_rep_p50_ns']; b=L[('ref-ring',s)]['per_rep_p50_ns']
    print("  %d B: %s  (medians %s / %s ns)"%(s,fmt(rr(a,b),inv=True),med(a),med(b)))
B={(r['transport'],r['size']):r for r in load(d+'/bcast.json') if r['kind']=='bcast'}
print("BCAST")
for s in (64,512):
    for t in ('shm-bcast-1x1','shm-bcast-1x3'):
        r=B[(t,s)]
        print("  %s %d B: x ref %.2f [%.2f-%.2f] won %d/9 vs %s"%(t,s,r['x_ref'],r['x_ref_min'],r['x_ref_max'],r['x_ref_wins'],r['x_ref_vs']))
